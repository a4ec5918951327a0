"""Self-contained HTML reports rendered from the record table."""

from reports.render import render

__all__ = ["render"]
