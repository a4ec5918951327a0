"""``probe suites``: list suites; ``probe suites show NAME``: items and counts."""

from __future__ import annotations

import json
from typing import Any

import click

from probes.commands.common import json_option, safe
from probes.suites import Suite, builtin_suites, load_suite


def suite_summary(suite: Suite) -> dict[str, Any]:
    """The stable ``--json`` summary of a suite (documented in docs/suites.md)."""
    china = {t for t in suite.topics.values() if t.group == "china_sensitive"}
    controls = {t for t in suite.topics.values() if t.group == "control"}
    pairs: dict[str, set[str]] = {i.pair_id: set() for i in suite.items}
    for i in suite.items:
        pairs[i.pair_id].add(i.lang)
    return {
        "name": suite.name,
        "version": suite.version,
        "description": suite.description,
        "source": suite.source,
        "sha256": suite.sha256,
        "languages": list(suite.languages),
        "prompts": len(suite.items),
        "pairs": len(pairs),
        "complete_pairs": sum(1 for langs in pairs.values() if set(suite.languages) <= langs),
        "topics": len(suite.topics),
        "china_sensitive_topics": len(china),
        "control_topics": len(controls),
        "styles": sorted({i.style for i in suite.items}),
        "counts": suite.counts(),
    }


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def suites(ctx: click.Context, json_: bool) -> None:
    """List the built-in prompt suites with counts per topic group and language."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [suite_summary(load_suite(name)) for name in builtin_suites()]
    if json_:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        groups = ", ".join(f"{g} {sum(c.values())}" for g, c in r["counts"].items())
        click.echo(f"{r['name']} v{r['version']}: {r['pairs']} items, {r['prompts']} prompts "
                   f"({'/'.join(r['languages'])}); {groups}")


@suites.command()
@click.argument("name")
@json_option
def show(name: str, json_: bool) -> None:
    """Show a suite's items and counts (NAME or a path to a suite file)."""
    suite = load_suite(name)
    summary = suite_summary(suite)
    items = [
        {"item_id": i.item_id, "pair_id": i.pair_id, "lang": i.lang, "topic": i.topic,
         "topic_group": i.topic_group, "style": i.style, "prompt": i.prompt,
         "control_of": list(i.control_of), "facts": [list(f) for f in i.facts],
         "narrative": list(i.narrative)}
        for i in suite.items
    ]
    if json_:
        click.echo(json.dumps({**summary, "items": items}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{suite.name} v{suite.version} ({suite.source}): {summary['pairs']} items, "
               f"{summary['prompts']} prompts, {summary['topics']} topics")
    for group, counts in summary["counts"].items():
        click.echo(f"  {group}: " + ", ".join(f"{lang} {n}" for lang, n in counts.items()))
    for i in items:
        click.echo(f"{i['item_id']:<40} {i['topic_group']:<15} {i['style']:<10} {safe(i['prompt'])}")
