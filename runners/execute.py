"""The run loop: send prompt-stage records through a runner, write response-stage records.

Resumable: keys already in the store are skipped (errored ones are retried unless asked not to),
and every record is appended and flushed as soon as it exists, so a killed run loses at most the
record being written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from probes.record import ProbeRecord, make_key
from probes.store import RecordWriter
from runners.base import BatchRunner, Completion, GenerationParams, Request, Runner, attempt
from runners.loops import cut_loop

Finish = Callable[[ProbeRecord], ProbeRecord]
"""Applied to each response-stage record before it is written (e.g. labelling)."""

OnRecord = Callable[[ProbeRecord], None]


@dataclass
class Plan:
    """The records one model still has to generate."""

    model: str
    todo: list[ProbeRecord]
    skipped: int


def plan(
    items: Sequence[ProbeRecord],
    model: str,
    model_sha256: str,
    params: GenerationParams,
    existing: dict[str, ProbeRecord],
    retry_errors: bool = True,
    samples: int = 1,
) -> Plan:
    """Fill model, params and key into prompt-stage records and drop those already done."""
    p = params.as_dict()
    todo, skipped = [], 0
    for item in items:
        for sample in range(samples if params.temperature > 0 else 1):
            key = make_key(item.suite, item.suite_version, item.item_id, model_sha256, p, sample)
            old = existing.get(key)
            if old is not None and (old.error is None or not retry_errors):
                skipped += 1
                continue
            todo.append(
                replace(item, key=key, model=model, model_sha256=model_sha256, params=p, sample_index=sample)
            )
    return Plan(model=model, todo=todo, skipped=skipped)


def generate(
    todo: Iterable[ProbeRecord],
    runner: Runner,
    params: GenerationParams,
    writer: RecordWriter,
    finish: Finish | None = None,
    on_record: OnRecord | None = None,
) -> int:
    """Generate, finish and append each record; returns how many were written.

    Runners that take many requests at once (``BatchRunner``) get them all and records are written
    in the order answers finish. A generation that raises is written as a record with ``error``
    set (and retried by the next run); ``KeyboardInterrupt`` stops at once with everything before
    it on disk.
    """
    items = list(todo)
    # Each sample of a prompt gets its own seed, or sampled answers would all be the same.
    requests = [Request(i.prompt, i.system, replace(params, seed=params.seed + i.sample_index)) for i in items]
    if isinstance(runner, BatchRunner):
        stream: Iterator[tuple[int, Completion | Exception]] = runner.complete_many(requests)
    else:
        stream = ((k, attempt(runner, r)) for k, r in enumerate(requests))
    n = 0
    for k, out in stream:
        record = to_record(items[k], out)
        if finish is not None:
            record = finish(record)
        writer.write(record)
        n += 1
        if on_record is not None:
            on_record(record)
    return n


def to_record(item: ProbeRecord, out: Completion | Exception) -> ProbeRecord:
    """The response-stage record for a prompt-stage record and what the runner returned."""
    if isinstance(out, Exception):
        return replace(item, finish_reason="error", error=f"{type(out).__name__}: {out}")
    text, reasoning, finish = out.text, out.reasoning, out.finish_reason
    if item.params.get("stop_loops"):  # the same cut for every backend, wherever generation stopped
        text, looped = cut_loop(text)
        if not looped and reasoning:
            reasoning, looped = cut_loop(reasoning)
        finish = "repetition" if looped else finish
    return replace(
        item,
        response=text,
        reasoning=reasoning,
        finish_reason=finish,
        prompt_tokens=out.prompt_tokens,
        completion_tokens=out.completion_tokens,
        latency_s=out.latency_s,
    )
