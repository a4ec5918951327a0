"""``probe report``: render one or more run folders into a single HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from probes.commands.common import UserError
from probes.store import RunStore, atomic_write


def _frame(stores: list[RunStore]) -> Any:
    from analysis import to_frame
    from analysis.learned import NAME

    return to_frame([r for s in stores for r in s.read().values()], classifier=NAME)


def write_report(stores: list[RunStore], out: Path, frame: Any = None) -> None:
    """Render the records of ``stores`` (or their ready ``frame``) into ``out``, written atomically."""
    from reports import render

    frame = _frame(stores) if frame is None else frame
    atomic_write(out, render(frame, {"runs": [s.read_meta() for s in stores]}))


def write_parquet(frame: Any, path: Path) -> None:
    """The record table as Parquet (typed columns, so no formula can run; needs pyarrow).

    Raises:
        UserError: pyarrow is not installed.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UserError("--parquet needs pyarrow: pip install 'divergence-probe[parquet]'") from None
    frame.to_parquet(path, index=False)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Report file. [default: report.html in the first run folder]")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also export the record table (one row per answer; formulas neutralised).")
@click.option("--parquet", "parquet_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also export the record table as Parquet (needs pyarrow).")
@click.option("--json", "json_", is_flag=True, help="Print the statistics as JSON.")
def report(run_dirs: tuple[Path, ...], output: Path | None, csv_path: Path | None, parquet_path: Path | None,
           json_: bool) -> None:
    """Render run folders (e.g. models run on different days) into one HTML report."""
    stores = [RunStore(d) for d in run_dirs]
    for s in stores:
        s.read_meta()  # a folder without run.json is a user error, reported before any work
    frame = _frame(stores)
    if parquet_path is not None:
        write_parquet(frame, parquet_path)  # first: a missing pyarrow fails before the slow part
    out = output or stores[0].report_path
    write_report(stores, out, frame)
    if csv_path is not None:
        from analysis.csvio import write_safe_csv

        write_safe_csv(frame, csv_path)
    if json_:
        from analysis.summary import summary

        click.echo(json.dumps(summary(frame), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(f"report: {out}")
