"""The ``probe`` command line: a click group whose commands live in ``probes.commands``."""

from __future__ import annotations

import click

from probes import __version__
from probes.commands.classify import classify
from probes.commands.common import ProbeGroup
from probes.commands.diff import diff
from probes.commands.label import label
from probes.commands.merge import merge
from probes.commands.models import models
from probes.commands.report import report
from probes.commands.run import run
from probes.commands.suites import suites


@click.group(cls=ProbeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="divergence-probe")
def cli() -> None:
    """Measure how language models differ in what they refuse, deflect or answer.

    \b
    Typical use:
      probe run --suite sensitive            # default models, labels, report.html
      probe suites                           # the curated prompt suites
      probe models                           # the model catalog
      probe report runs/RUN -o report.html   # re-render a report

    Every option can also be set as an environment variable PROBE_<COMMAND>_<OPTION>.
    """


for command in (run, classify, label, report, diff, merge, models, suites):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(auto_envvar_prefix="PROBE")
