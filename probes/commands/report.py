"""``probe report``: render one or more run folders into a single HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from probes.store import RunStore, atomic_write


def _frame(stores: list[RunStore]) -> Any:
    from analysis import to_frame
    from analysis.learned import NAME

    return to_frame([r for s in stores for r in s.read().values()], classifier=NAME)


def write_report(stores: list[RunStore], out: Path) -> None:
    """Render the records of ``stores`` into ``out`` (written atomically)."""
    from reports import render

    atomic_write(out, render(_frame(stores), {"runs": [s.read_meta() for s in stores]}))


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Report file. [default: report.html in the first run folder]")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also export the record table (one row per answer; formulas neutralised).")
@click.option("--json", "json_", is_flag=True, help="Print the statistics as JSON.")
def report(run_dirs: tuple[Path, ...], output: Path | None, csv_path: Path | None, json_: bool) -> None:
    """Render run folders (e.g. models run on different days) into one HTML report."""
    stores = [RunStore(d) for d in run_dirs]
    for s in stores:
        s.read_meta()  # a folder without run.json is a user error, reported before any work
    out = output or stores[0].report_path
    write_report(stores, out)
    if csv_path is not None:
        from analysis.csvio import write_safe_csv

        write_safe_csv(_frame(stores), csv_path)
    if json_:
        from analysis.summary import summary

        click.echo(json.dumps(summary(_frame(stores)), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(f"report: {out}")
