"""Generation throughput three ways: plain ``create_chat_completion`` loop, batched engine, cached rerun.

    python bench/throughput.py --model qwen2.5-coder-0.5b-instruct --prompts 96 --max-tokens 192 --parallel 16 32

The plain loop is, by default, the one the targets count as 1.0x: ``create_chat_completion`` with
llama-cpp-python's defaults, as peers call it (``--plain runner``: this project's sequential path,
with flash attention and the loop guard). All paths get the same prompts (the ``sensitive`` suite's,
English and Chinese, in suite order), the same ``max_tokens`` and greedy decoding, on one loaded
model whose weights a warm-up call pages in first. Batched answers are compared with the plain ones,
since a faster engine that answered differently would not be a fair win. ``steady`` is the generated
tokens/s over decode steps with every sequence busy: the figure to set beside
``llama-batched-bench``'s S_TG at the same parallelism; ``steps`` splits the batched time into
prompt steps, decode steps with every sequence busy, and decode steps with fewer (the last
answers). ``cores`` is CPU time over wall time; well under the thread count means other
processes competed.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runners.base import Completion, GenerationParams, Request

if TYPE_CHECKING:
    from runners.batched import BatchedEngine


def model_path(name: str) -> Path:
    """A GGUF path as given, or a catalog model's cached file (pulled when missing)."""
    from runners.catalog import CATALOG, cached_path
    from runners.pull import pull

    if Path(name).is_file():
        return Path(name)
    if name not in CATALOG:
        raise SystemExit(f"{name}: neither a file nor a catalog model ({', '.join(CATALOG)})")
    return cached_path(CATALOG[name]) or pull(CATALOG[name])


def load_prompts(n: int, max_tokens: int, stop_loops: bool = True) -> list[Request]:
    """The first ``n`` prompts of the ``sensitive`` suite (repeated if it has fewer)."""
    from probes.suites import load_suite

    items = load_suite("sensitive").items
    params = GenerationParams(max_tokens=max_tokens, stop_loops=stop_loops)
    return [Request(items[i % len(items)].prompt, items[i % len(items)].system, params) for i in range(n)]


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kv_bytes_per_cell(llm: object) -> int:
    """f16 K and V for one token in every layer."""
    import llama_cpp

    model = llm.model  # type: ignore[attr-defined]
    head_dim = llama_cpp.llama_model_n_embd(model) // llama_cpp.llama_model_n_head(model)
    return 2 * 2 * llama_cpp.llama_model_n_layer(model) * llama_cpp.llama_model_n_head_kv(model) * head_dim


def timed(label: str, run: object, base: tuple[float, float] | None = None
          ) -> tuple[list[Completion], tuple[float, float]]:  # fmt: skip
    """Run ``run()`` (returning completions in request order), print one line.

    Returns:
        the answers and (generated tokens/s, prompts/s); with ``base``, the line gives both ratios.
    """
    start, cpu = time.perf_counter(), cpu_seconds()
    outs: list[Completion] = run()  # type: ignore[operator]
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    tokens = sum(o.completion_tokens for o in outs)
    rates = tokens / seconds, len(outs) / seconds
    ratio = f"  tok/s x{rates[0] / base[0]:.2f}, prompts/s x{rates[1] / base[1]:.2f}" if base else ""
    print(f"{label:<22} {tokens:6d} tok {seconds:7.1f} s {rates[0]:7.1f} tok/s {rates[1]:7.2f} prompts/s"
          f"  cores {cpu / seconds:.2f}{ratio}")  # fmt: skip
    return outs, rates


def peers_loop(path: Path, threads: int, n_ctx: int, requests: list[Request]) -> list[Completion]:
    """The baseline the targets count as 1.0x: a plain ``create_chat_completion`` loop as peers run it.

    llama-cpp-python's defaults (no flash attention, no loop guard: loops are decoded to
    ``max_tokens``), except both cores for decoding (its default is half of them).
    """
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_threads=threads, n_ctx=n_ctx, verbose=False)
    llm.create_chat_completion(messages=[{"role": "user", "content": "Hello"}], max_tokens=4)  # warm up
    outs = []
    for r in requests:
        out = llm.create_chat_completion(messages=r.messages, temperature=0, max_tokens=r.params.max_tokens)  # type: ignore[arg-type]
        choice = out["choices"][0]
        outs.append(Completion(text=choice["message"].get("content") or "", finish_reason=choice["finish_reason"] or "stop",
                               completion_tokens=int(out["usage"]["completion_tokens"])))  # fmt: skip
    llm.close()
    return outs


class StepClock:
    """Times a ``BatchedEngine``'s steps by kind: prompt steps, full decode steps, the rest."""

    def __init__(self, engine: BatchedEngine) -> None:
        self.seconds = {"prompts": 0.0, "every sequence": 0.0, "fewer sequences": 0.0}
        self.full_tokens, self.decoding = 0, 0.0
        step, decode = engine._step, engine._decode

        def timed_step(active: list) -> list:  # type: ignore[type-arg]
            prompting, start = any(s.pos < len(s.prompt) for s in active), time.perf_counter()
            got = step(active)
            full = len(got) == engine.parallel and not prompting  # every sequence generated a token
            kind = "prompts" if prompting else "every sequence" if full else "fewer sequences"
            self.seconds[kind] += time.perf_counter() - start
            self.full_tokens += len(got) if full else 0
            return got

        def timed_decode(n: int) -> None:
            start = time.perf_counter()
            decode(n)
            self.decoding += time.perf_counter() - start

        engine._step, engine._decode = timed_step, timed_decode  # type: ignore[method-assign]

    def summary(self, total: float) -> str:
        """Steady tokens/s (decode steps with every sequence busy) and where ``total`` seconds went."""
        busy = self.seconds["every sequence"]
        parts = ", ".join(f"{kind} {s:.0f} s ({s / total:.0%})" for kind, s in self.seconds.items())
        return (f"steady {self.full_tokens / busy if busy else 0:.1f} tok/s; steps: {parts}; "
                f"llama_decode {self.decoding / total:.0%} of the time")  # fmt: skip


def in_order(pairs: object, n: int) -> list[Completion]:
    got = dict(pairs)  # type: ignore[call-overload]
    bad = [v for v in got.values() if not isinstance(v, Completion)]
    if bad:
        raise SystemExit(f"generation failed: {bad[0]}")
    return [got[i] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="catalog name or GGUF path")
    ap.add_argument("--prompts", type=int, default=96, help="how many of the suite's prompts")
    ap.add_argument("--parallel", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-plain", action="store_true", help="skip the (slow) plain loop")
    ap.add_argument("--plain", choices=("peers", "runner"), default="peers",
                    help="plain loop as peers run it (llama-cpp-python defaults: the 1.0x of the targets) or "
                         "through this project's sequential path (flash attention, loop guard)")
    ap.add_argument("--loops", choices=("stop", "keep", "both"), default="stop",
                    help="batched runs stop loops (probe run's default) or decode them to max_tokens as the peers' "
                         "loop does (probe run --no-stop-loops: the same work as that loop), or both")
    ap.add_argument("--no-flash-attn", action="store_true", help="as llama-cpp-python's defaults (and -fa off)")
    args = ap.parse_args()

    from runners.batched import BatchedEngine
    from runners.cache import CachedRunner, ResultCache
    from runners.gguf import GGUFRunner

    modes = ("stop", "keep") if args.loops == "both" else (args.loops,)
    requests = {m: load_prompts(args.prompts, args.max_tokens, stop_loops=m == "stop") for m in modes}
    path = model_path(args.model)
    runner = GGUFRunner(args.model, path, threads=args.threads, n_gpu_layers=0, flash_attn=not args.no_flash_attn)
    runner.complete(Request("Hello", params=GenerationParams(max_tokens=4)))  # page the weights in
    loaded = peak_rss_mb()
    print(f"{args.model}: {args.prompts} prompts, max_tokens {args.max_tokens}, {runner.threads} threads, "
          f"file {path.stat().st_size / 2**20:.0f} MB, RSS after load {loaded:.0f} MB")  # fmt: skip

    plain, base = None, None
    if not args.no_plain:
        if args.plain == "peers":
            plain, base = timed("plain, peers", lambda: peers_loop(path, runner.threads, runner.n_ctx, requests[modes[0]]))
        else:
            plain, base = timed("plain, runner", lambda: [runner.complete(r) for r in requests[modes[0]]])
    outs: list[Completion] = []
    for mode, parallel in ((m, p) for m in modes for p in args.parallel):
        with BatchedEngine(runner.llm, parallel=parallel) as engine:
            clock = StepClock(engine)
            label, todo = f"batched x{parallel}" + (", loops kept" if mode == "keep" else ""), requests[mode]
            took = time.perf_counter()
            outs, _ = timed(label, lambda todo=todo: in_order(engine.complete_many(todo), len(todo)), base)
            took = time.perf_counter() - took
            kv = engine.cells * (parallel + 1) * kv_bytes_per_cell(runner.llm) / 2**20
        print(f"{'':22} {clock.summary(took)}")
        print(f"{'':22} KV cache {kv:.0f} MB; peak RSS {peak_rss_mb():.0f} MB (+{peak_rss_mb() - loaded:.0f})")
        if plain is not None:
            same = sum((a.text, a.finish_reason) == (b.text, b.finish_reason) for a, b in zip(plain, outs))
            print(f"{'':22} {same}/{len(outs)} answers identical to the plain loop")

    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedRunner(runner, ResultCache(Path(tmp) / "cache.sqlite3"))
        for request, out in zip(todo, outs):
            cached.cache.put(cached.cache.key(cached.identity, request), out)
        timed("cached rerun", lambda: in_order(cached.complete_many(todo), len(todo)))
        cached.close()  # closes the runner too


if __name__ == "__main__":
    main()
