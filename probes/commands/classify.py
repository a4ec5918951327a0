"""``probe classify``: label a run folder again, or a CSV of prompts and responses."""

from __future__ import annotations

from pathlib import Path

import click

from probes.commands.common import UserError
from probes.store import RunStore


@click.command()
@click.argument("target", type=click.Path(path_type=Path, exists=True))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="For a CSV: where to write the labelled copy. [default: TARGET.labelled.csv]")
def classify(target: Path, output: Path | None) -> None:
    """Label a run folder's responses again (appending), or a CSV with prompt and response columns.

    Relabelling never regenerates a response: labelled copies of the records are appended and
    readers keep the last copy of each key.
    """
    from analysis import default_classifier, label_records

    classifier = default_classifier()
    if target.is_dir():
        store = RunStore(target)
        store.read_meta()
        records = list(store.read().values())
        with store.appender() as writer:
            n = writer.write_all(label_records(records, classifier))
        click.echo(f"labelled {n} records with {classifier.name} in {store.records_path}")
        return
    if target.suffix.lower() != ".csv":
        raise UserError(f"{target}: expected a run folder or a .csv file")
    from analysis.csvio import classify_csv

    out = output or target.with_suffix(".labelled.csv")
    n = classify_csv(target, out, classifier)
    click.echo(f"labelled {n} rows with {classifier.name} -> {out}")
