"""``python -m probes`` runs the ``probe`` command line."""

from probes.cli import main

main()
