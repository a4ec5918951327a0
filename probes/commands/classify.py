"""``probe classify``: label a run folder again, label a CSV, or evaluate against gold labels."""

from __future__ import annotations

import json
from pathlib import Path

import click

from probes.commands.common import UserError, json_option
from probes.store import RunStore

CLASSIFIER_NAMES = ("learned", "keyword")


@click.command()
@click.argument("target", type=click.Path(path_type=Path, exists=True))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="For a CSV: where to write the labelled copy. [default: TARGET.labelled.csv]")
@click.option("--classifier", "-c", type=click.Choice(CLASSIFIER_NAMES), default="learned", show_default=True,
              help="learned: the calibrated model; keyword: the transparent phrase baseline.")
@click.option("--evaluate", is_flag=True,
              help="TARGET is a CSV with a gold 'label' column: print precision/recall/F1 per language, "
                   "three-class macro-F1 and the confusion matrix instead of writing labels.")
@json_option
def classify(target: Path, output: Path | None, classifier: str, evaluate: bool, json_: bool) -> None:
    """Label a run folder again (appending), label a CSV of prompt/response pairs, or evaluate.

    \b
    probe classify runs/RUN                  relabel every record; responses are never regenerated
    probe classify pairs.csv -o out.csv      adds predicted_label, p_compliance, p_refusal,
                                             p_deflection and the empty/degenerate/truncated flags
    probe classify --evaluate gold.csv       scores against the 'label' column (optional 'lang')
    """
    from analysis import get_classifier, label_records

    clf = get_classifier(classifier)
    if target.is_dir():
        if evaluate:
            raise UserError("--evaluate takes a CSV with prompt, response and label columns")
        store = RunStore(target)
        store.read_meta()
        with store.appender() as writer:
            n = writer.write_all(label_records(list(store.read().values()), clf))
        click.echo(f"labelled {n} records with {clf.name} in {store.records_path}")
        return
    if target.suffix.lower() != ".csv":
        raise UserError(f"{target}: expected a run folder or a .csv file")
    if evaluate:
        from analysis.csvio import evaluate_csv
        from analysis.evaluate import format_scores

        result = evaluate_csv(target, clf)
        click.echo(json.dumps(result, indent=2) if json_ else format_scores(result, f"{clf.name} on {target.name}"))
        return
    from analysis.csvio import classify_csv

    out = output or target.with_suffix(".labelled.csv")
    n = classify_csv(target, out, clf)
    click.echo(f"labelled {n} rows with {clf.name} -> {out}")
