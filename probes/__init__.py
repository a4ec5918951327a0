"""divergence-probe: suites, records, run store and the ``probe`` command line."""

from importlib.metadata import PackageNotFoundError, version

from probes.record import FLAGS, LABELS, SCHEMA_VERSION, Label, ProbeRecord, make_key

try:
    __version__ = version("divergence-probe")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["FLAGS", "LABELS", "SCHEMA_VERSION", "Label", "ProbeRecord", "make_key", "__version__"]
