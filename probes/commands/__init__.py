"""One module per ``probe`` command."""
