"""``probe models``: the model catalog, and ``probe models pull NAME``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from probes.commands.common import UserError, json_option
from probes.commands.progress import pull_with_progress


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def models(ctx: click.Context, json_: bool) -> None:
    """List the model catalog and which models are in the local cache."""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from runners.catalog import CATALOG, cached_path, models_dir

    rows = [
        {**{k: v for k, v in asdict(m).items() if k != "parts"}, "cached": bool(cached_path(m)),
         "path": str(cached_path(m) or "")}
        for m in CATALOG.values()
    ]
    if json_:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Model catalog (cache: {models_dir()})")
    for col in ("name", "developer", "country", "params", "quant", "size", "licence", "kind", "cached"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["developer"], r["country"], r["parameters"], r["quantisation"],
                      f"{r['size'] / 1e6:.0f} MB", r["licence"], "instruct" if r["instruct"] else "base",
                      "yes" if r["cached"] else "no")
    Console().print(table)


@models.command()
@click.argument("name")
def pull(name: str) -> None:
    """Download a catalog model into the cache and verify its sha256."""
    from runners.catalog import CATALOG

    if name not in CATALOG:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(CATALOG)}")
    path: Path = pull_with_progress(CATALOG[name])
    click.echo(f"{name}: verified sha256 {CATALOG[name].sha256[:12]}... at {path}")
