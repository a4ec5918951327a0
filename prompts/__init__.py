"""Curated prompt suites shipped with divergence-probe (data only; see ``docs/suites.md``)."""
