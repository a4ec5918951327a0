"""The base of every error that a user can fix (bad input, missing file, unreachable index).

The CLI prints these as one line with exit status 2; anything else is a bug and keeps its
traceback.
"""


class ProbeError(Exception):
    """An error the user can act on; its message says what went wrong and where."""
