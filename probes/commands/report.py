"""``probe report``: render one or more run folders into a single HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from probes.store import RunStore, atomic_write


def write_report(stores: list[RunStore], out: Path) -> None:
    """Render the records of ``stores`` into ``out`` (written atomically)."""
    from analysis import to_frame
    from analysis.learned import NAME
    from reports import render

    records = [r for s in stores for r in s.read().values()]
    frame = to_frame(records, classifier=NAME)
    atomic_write(out, render(frame, {"runs": [s.read_meta() for s in stores]}))


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Report file. [default: report.html in the first run folder]")
def report(run_dirs: tuple[Path, ...], output: Path | None) -> None:
    """Render run folders (e.g. models run on different days) into one HTML report."""
    stores = [RunStore(d) for d in run_dirs]
    for s in stores:
        s.read_meta()  # a folder without run.json is a user error, reported before any work
    out = output or stores[0].report_path
    write_report(stores, out)
    click.echo(f"report: {out}")
