"""``probe merge``: combine the run folders of a sharded study into one."""

from __future__ import annotations

from pathlib import Path

import click

from probes.store import RunStore, merge_runs


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="New run folder for the merged records.")
@click.option("--no-report", is_flag=True, help="Skip writing report.html.")
def merge(run_dirs: tuple[Path, ...], output: Path, no_report: bool) -> None:
    """Merge run folders (e.g. the shards of probe run --shard K/N) into one, without duplicates.

    The runs must share the suite (same content hash) and the generation parameters.
    """
    dest = RunStore(output)
    n = merge_runs([RunStore(d) for d in run_dirs], dest)
    click.echo(f"merged {len(run_dirs)} runs: {n} records in {dest.records_path}")
    if not no_report:
        from probes.commands.report import write_report

        write_report([dest], dest.report_path)
        click.echo(f"report: {dest.report_path}")
