"""``probe run``: generate answers for a suite on one or more models, label them, report."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from probes import __version__
from probes.commands.common import RUNNER_KEYS, UserError, generation_options, runner_options, safe
from probes.commands.diff import gate_options, load_run, run_diff
from probes.commands.progress import GenerationProgress, console, pull_with_progress
from probes.record import ProbeRecord
from probes.store import RunStore
from probes.suites import Suite, load_suite

GATE_KEYS = ("max_shift", "alpha", "fail_on", "gate_topics", "allow_suite_mismatch", "json_", "junit",
             "markdown", "html")


@click.command()
@click.option("--suite", "-s", "suite_name", default="sensitive", show_default=True,
              help="Built-in suite name, or a suite file: YAML, JSONL, CSV (prompt column) or TXT.")
@click.option("--model", "-m", "model_specs", multiple=True,
              help="Catalog name, path to a .gguf, hf:REPO/FILE.gguf or fake/echo; repeatable. "
                   "[default: qwen2.5-coder-0.5b-instruct and smollm2-135m-instruct]")
@click.option("--out", "-o", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Run folder. [default: runs/SUITE-HASH, the same for the same settings, so "
                   "rerunning a command resumes it]")
@click.option("--topic", "-t", "topics", multiple=True, help="Only this topic or topic group; repeatable.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N prompts.")
@click.option("--shard", callback=lambda ctx, param, value: _parse_shard(value), default=None, metavar="K/N",
              help="Only shard K of N (pairs split by a hash of their id), to split a study across "
                   "machines; combine the run folders with probe merge.")
@click.option("--no-retry-errors", is_flag=True, help="On resume, keep failed generations as they are.")
@click.option("--no-report", is_flag=True, help="Skip writing report.html.")
@click.option("--classifier", "-c", type=click.Choice(["learned", "keyword"]), default="learned",
              show_default=True, help="How answers are labelled (see probe classify --help).")
@click.option("--baseline", type=click.Path(path_type=Path, exists=True), default=None,
              help="After the run, compare it with this run folder (as probe diff does) and exit 1 on "
                   "a shift beyond the gate, 2 on incompatible runs.")
@gate_options
@generation_options
@runner_options
def run(suite_name: str, model_specs: tuple[str, ...], out: Path | None, topics: tuple[str, ...],
        limit: int | None, shard: tuple[int, int] | None, no_retry_errors: bool, no_report: bool, classifier: str, baseline: Path | None,
        **options: Any) -> None:
    """Run a suite on models, label every answer and write the run folder and report.

    Rerunning the same command resumes: finished prompts are skipped, failed ones retried.
    Ctrl-C stops cleanly; everything written so far is kept.
    """
    from runners.base import GenerationParams
    from runners.catalog import DEFAULT_MODELS
    from runners.registry import RunnerOptions

    suite = load_suite(suite_name)
    items = suite.select(topics, limit)
    if shard is not None:
        items = suite.shard(items, *shard)
    gate = {k: options.pop(k) for k in GATE_KEYS}
    backend = RunnerOptions(**{k: options.pop(k) for k in RUNNER_KEYS})
    samples = options.pop("samples")
    params = GenerationParams(**options)
    if backend.runner == "openai" and not model_specs:
        raise UserError("--runner openai needs --model NAME (the id the server serves)")
    specs = list(dict.fromkeys(model_specs or DEFAULT_MODELS))
    selection = {"topics": list(topics), "limit": limit, "shard": f"{shard[0]}/{shard[1]}" if shard else None}
    store = RunStore(out or _default_out(suite, specs, params, selection, samples))
    meta = _open_meta(store, suite, params, specs, selection)
    try:
        written = _generate(store, meta, items, specs, params, samples, backend,
                            retry_errors=not no_retry_errors, classifier_name=classifier)
    except KeyboardInterrupt:
        n = len(store.read())
        console.print(f"[yellow]interrupted[/]: {n} records kept in {store.root}; "
                      "rerun the same command to resume")
        sys.exit(130)
    records = list(store.read().values())
    console.print(f"{written} new answers; {len(records)} records in {store.root}/records.jsonl")
    _print_summary(records)
    if not no_report:
        from probes.commands.report import write_report

        write_report([store], store.report_path)
        click.echo(f"report: {store.report_path}")
    if baseline is not None:
        sys.exit(run_diff(load_run(baseline), records, classifier, **gate))


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    k, _, n = value.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"{value!r} is not K/N with 1 <= K <= N", param_hint="--shard")
    return int(k), int(n)


def _default_out(suite: Suite, specs: list[str], params: Any, selection: dict[str, Any], samples: int) -> Path:
    settings = json.dumps([suite.name, suite.version, specs, params.as_dict(), selection, samples], sort_keys=True)
    return Path("runs") / f"{suite.name}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"


def _open_meta(store: RunStore, suite: Suite, params: Any, specs: list[str],
               selection: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    suite_meta = {"name": suite.name, "version": suite.version, "sha256": suite.sha256,
                  "source": suite.source}
    if store.exists():
        meta = store.read_meta()
        old = meta.get("suite", {})
        if old.get("sha256") != suite.sha256:
            raise UserError(
                f"{store.root} holds a run of suite {old.get('name')} v{old.get('version')}, "
                f"not {suite.name} v{suite.version}; choose another --out"
            )
        meta["updated"] = now
        meta["model_specs"] = list(dict.fromkeys([*meta.get("model_specs", []), *specs]))
        return meta
    return {
        "tool": {"name": "divergence-probe", "version": __version__, "python": platform.python_version()},
        "created": now, "updated": now, "host": platform.node(), "platform": platform.platform(),
        "suite": suite_meta, "selection": selection,
        "params": params.as_dict(), "model_specs": specs, "models": {},
        "command": " ".join(safe(a) for a in sys.argv),
    }


def _generate(store: RunStore, meta: dict[str, Any], items: tuple[ProbeRecord, ...], specs: list[str],
              params: Any, samples: int, backend: Any,
              retry_errors: bool, classifier_name: str) -> int:
    from analysis import get_classifier, label_records
    from runners.execute import generate, plan
    from runners.registry import load_runner

    classifier = get_classifier(classifier_name)
    existing = store.read()
    written = 0
    store.write_meta(meta)
    with store.appender() as writer, GenerationProgress() as progress:
        for spec in specs:
            runner = load_runner(spec, params, backend, pull_fn=pull_with_progress)
            try:
                provenance = runner.provenance()
                meta["models"][runner.name] = {**provenance, "spec": spec}
                store.write_meta(meta)
                todo = plan(items, runner.name, provenance["sha256"], params, existing,
                            retry_errors=retry_errors, samples=samples)
                progress.start(runner.name, len(todo.todo), todo.skipped)
                written += generate(todo.todo, runner, params, writer,
                                    finish=lambda r: label_records([r], classifier)[0],
                                    on_record=progress.advance)
                progress.finish()
                if hits := getattr(runner, "hits", 0):
                    console.print(f"{safe(runner.name)}: {hits} answers from the cache (--no-cache to regenerate)",
                                  markup=False, highlight=False, soft_wrap=True)
            finally:
                runner.close()
    return written


def _print_summary(records: list[ProbeRecord]) -> None:
    from rich.table import Table

    from analysis import to_frame
    from analysis.stats import rates

    frame = to_frame(records)
    errors = int(frame["error"].notna().sum())
    table = Table(title="Non-compliance (refusal + deflection) by model, topic group and language")
    for col in ("model", "group", "lang", "n", "refusal", "deflection", "non-compliance (95% CI)"):
        table.add_column(col)
    for r in rates(frame, ["model", "topic_group", "lang"]).itertuples():
        table.add_row(safe(r.model), str(r.topic_group), str(r.lang), str(r.n), str(r.refusal), str(r.deflection),
                      f"{r.noncompliance:.0%} ({r.ci_low:.0%}-{r.ci_high:.0%})")
    console.print(table)
    if errors:
        console.print(f"[red]{errors} generations failed[/]; rerun the command to retry them")
