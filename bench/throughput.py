"""Throughput of the plain ``create_chat_completion`` loop against the batched engine.

    python bench/throughput.py --model qwen2.5-coder-0.5b-instruct --prompts 32 --parallel 8 16

Both paths get the same prompts, the same ``max_tokens`` and greedy decoding, on one loaded model
(weights paged in by a warm-up call first); the batched answers are also checked against the plain
ones, since a faster engine that answers differently would not be a fair win.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from runners.base import Completion, GenerationParams, Request

MINI = Path(__file__).resolve().parents[1] / "tests" / "_assets" / "mini.yaml"


def model_path(name: str) -> Path:
    """A GGUF path as given, or a catalog model's cached file (pulled when missing)."""
    from runners.catalog import CATALOG, cached_path
    from runners.pull import pull

    if Path(name).is_file():
        return Path(name)
    if name not in CATALOG:
        raise SystemExit(f"{name}: neither a file nor a catalog model ({', '.join(CATALOG)})")
    return cached_path(CATALOG[name]) or pull(CATALOG[name])


def load_prompts(n: int, max_tokens: int) -> list[Request]:
    """The first ``n`` prompts of the ``sensitive`` suite, else of the test mini suite repeated."""
    from probes.suites import SuiteError, load_suite

    try:
        items = load_suite("sensitive").items
    except SuiteError:
        items = load_suite(str(MINI)).items
    params = GenerationParams(max_tokens=max_tokens)
    return [Request(items[i % len(items)].prompt, items[i % len(items)].system, params) for i in range(n)]


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def report(label: str, outs: list[Completion], seconds: float, cpu: float, base: float | None = None) -> float:
    """Print one line of rates; returns generated tokens per second.

    ``cores`` is CPU time over wall time: well below the thread count means other processes
    competed for the cores and the numbers are not trustworthy.
    """
    tokens = sum(o.completion_tokens for o in outs)
    rate = tokens / seconds
    ratio = f"  x{rate / base:.2f}" if base else ""
    print(
        f"{label:<12} {tokens:6d} tok {seconds:7.1f} s {rate:7.1f} tok/s {len(outs) / seconds:6.2f} prompts/s"
        f"  cores {cpu / seconds:.2f}{ratio}"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="catalog name or GGUF path")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--parallel", type=int, nargs="+", default=[8])
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--kv-unified", action="store_true", help="one shared KV buffer (not token-identical)")
    args = ap.parse_args()

    from runners.batched import BatchedEngine
    from runners.gguf import GGUFRunner

    requests = load_prompts(args.prompts, args.max_tokens)
    runner = GGUFRunner(args.model, model_path(args.model), threads=args.threads, n_gpu_layers=0)
    runner.complete(Request("Hello", params=GenerationParams(max_tokens=4)))  # page the weights in
    print(f"{args.model}: {len(requests)} prompts, max_tokens {args.max_tokens}, {runner.threads} threads")

    start, cpu = time.perf_counter(), cpu_seconds()
    plain = [runner.complete(r) for r in requests]
    base = report("plain loop", plain, time.perf_counter() - start, cpu_seconds() - cpu)
    for parallel in args.parallel:
        with BatchedEngine(runner.llm, parallel=parallel, kv_unified=args.kv_unified) as engine:
            start, cpu = time.perf_counter(), cpu_seconds()
            got = dict(engine.complete_many(requests))
            seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        outs = [got[i] for i in range(len(requests))]
        report(f"batched x{parallel}", outs, seconds, cpu, base)
        same = sum((a.text, a.finish_reason, a.completion_tokens) == (b.text, b.finish_reason, b.completion_tokens)
                   for a, b in zip(plain, outs))  # fmt: skip
        print(f"{'':12} {same}/{len(outs)} answers identical to the plain loop")
    runner.close()


if __name__ == "__main__":
    main()
