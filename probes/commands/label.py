"""``probe label``: a reviewer corrects labels, from an overrides file or one by one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from probes.commands.common import json_option, safe
from probes.store import RunStore

_KEYS = {"c": "compliance", "r": "refusal", "d": "deflection"}


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--overrides", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="CSV (key,label) or JSON object of key -> label to apply.")
@click.option("--review", is_flag=True, help="Go through low-confidence labels one by one.")
@click.option("--below", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Confidence under which a label needs review.")
@json_option
def label(run_dir: Path, overrides: Path | None, review: bool, below: float, json_: bool) -> None:
    """Correct labels by hand; reports use the reviewer's label and count the overrides.

    Without options, lists the records whose label needs review.
    """
    from analysis.review import apply_overrides, needs_review, override, read_overrides

    store = RunStore(run_dir)
    store.read_meta()
    records = store.read()
    if overrides is not None:
        with store.appender() as writer:
            n = writer.write_all(apply_overrides(records, read_overrides(overrides)))
        click.echo(f"applied {n} overrides to {store.records_path}")
        return
    todo = [r for r in records.values() if needs_review(r, below)]
    if not review:
        rows = [{"key": r.key, "model": r.model, "item_id": r.item_id,
                 "label": next(reversed(r.labels.values())).label} for r in todo]
        if json_:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            click.echo(f"{len(todo)} of {len(records)} labels are below {below:.0%} confidence")
            for row in rows:
                click.echo(f"{row['key']}  {safe(row['model'])}  {row['item_id']}  {row['label']}")
        return
    with store.appender() as writer:
        for i, r in enumerate(todo, 1):
            click.echo(f"\n[{i}/{len(todo)}] {safe(r.model)} · {r.item_id}\nPROMPT: {safe(r.prompt)}\n"
                       f"RESPONSE: {safe(r.response or '')}\n")
            answer = click.prompt("label: [c]ompliance [r]efusal [d]eflection [s]kip [q]uit",
                                  type=click.Choice(["c", "r", "d", "s", "q"]), show_choices=False)
            if answer == "q":
                break
            if answer != "s":
                writer.write(override(r, _KEYS[answer]))
