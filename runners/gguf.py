"""Local GGUF models through llama-cpp-python, with the chat template stored in the file."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runners.base import Completion, GenerationParams, Request, RunnerError, attempt, split_reasoning
from runners.gguf_file import file_sha256, inspect_gguf
from runners.loops import LoopGuard

if TYPE_CHECKING:
    from runners.batched import BatchedEngine


def default_threads() -> int:
    """One thread per core: llama.cpp decoding does not gain from hyper-threads."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def default_gpu_layers() -> int:
    """All layers (-1) when llama-cpp-python was built with GPU offload, else 0."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


def default_parallel(threads: int, gpu: bool, model_bytes: int) -> int:
    """Sequences decoded together: 16 per CPU thread (32 for models under 256 MB), at most 64 (64 on a
    GPU), halved past 4 GB.

    On 2 cores (``bench/throughput.py``, 128 prompts of ``sensitive``) Qwen2.5-Coder-0.5B decodes
    120 tokens/s at 32 sequences and 122 at 64, not worth twice the KV memory; SmolLM2-135M, whose
    steps are short enough for fixed per-step costs to count, 240 at 32 and 269 at 64. Large
    models get fewer, as each sequence's KV cache grows with the model.
    """
    per_thread = 32 if model_bytes < 256 << 20 else 16
    n = 64 if gpu else min(64, per_thread * threads)
    return max(1, n // 2 if model_bytes > 4 << 30 else n)


class GGUFRunner:
    """One GGUF model loaded once through ``llama_cpp.Llama``.

    Args:
        name: the model name recorded in each record.
        path: the GGUF file (validated with ``inspect_gguf`` before llama.cpp opens it).
        threads: CPU threads (default: one per core).
        n_gpu_layers: layers to offload (default: all with a GPU build, else none).
        n_ctx: context size (default: enough for the prompt and ``max_tokens``).
        params: generation defaults, used to size the context.
        parallel: sequences ``complete_many`` decodes together at temperature 0 (default:
            ``default_parallel``); 1 answers one request at a time with ``create_chat_completion``.
        flash_attn: flash attention (also in the batched engine, which copies these settings).
    """

    def __init__(
        self,
        name: str,
        path: Path,
        threads: int | None = None,
        n_gpu_layers: int | None = None,
        n_ctx: int | None = None,
        params: GenerationParams | None = None,
        extra: dict[str, Any] | None = None,
        parallel: int | None = None,
        flash_attn: bool = True,
    ):
        self.name = name
        self.path = Path(path)
        self.metadata = inspect_gguf(self.path)
        self.sha256 = file_sha256(self.path)
        self.threads = threads or default_threads()
        self.n_gpu_layers = default_gpu_layers() if n_gpu_layers is None else n_gpu_layers
        max_tokens = (params or GenerationParams()).max_tokens
        trained = int(self.metadata.get("context_length") or 2048)
        self.n_ctx = n_ctx or min(trained, max(2048, max_tokens + 1536))
        self.extra = extra or {}
        gpu = self.n_gpu_layers != 0
        self.parallel = parallel or default_parallel(self.threads, gpu, self.path.stat().st_size)
        self._engine: BatchedEngine | None = None
        self.flash_attn = flash_attn
        from llama_cpp import Llama

        try:
            self.llm = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.threads,
                n_threads_batch=self.threads,  # llama-cpp-python's default is os.cpu_count(), which ignores affinity
                n_gpu_layers=self.n_gpu_layers,
                seed=(params or GenerationParams()).seed,
                flash_attn=flash_attn,  # llama.cpp's "auto" picks it too; 10-25% faster decoding on CPU
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise RunnerError(f"llama.cpp could not load {self.path}: {exc}") from None

    def provenance(self) -> dict[str, Any]:
        import llama_cpp

        return {
            "backend": "gguf",
            "path": str(self.path),
            "sha256": self.sha256,
            "gguf": self.metadata,
            "threads": self.threads,
            "n_gpu_layers": self.n_gpu_layers,
            "n_ctx": self.n_ctx,
            "parallel": self.parallel,
            "flash_attn": self.flash_attn,
            "llama_cpp_python": llama_cpp.__version__,
            "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
            "host": platform.node(),
            "cpu_features": llama_cpp.llama_print_system_info().decode(errors="replace").strip(" |"),  # rounding depends on them
            **self.extra,
        }

    def complete(self, request: Request) -> Completion:
        from llama_cpp import LogitsProcessorList

        p = request.params
        guard = LoopGuard(self.llm) if p.stop_loops else None
        start = time.perf_counter()
        out: Any = self.llm.create_chat_completion(
            messages=request.messages,  # type: ignore[arg-type]
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=p.seed,
            logits_processor=None if guard is None else LogitsProcessorList([guard]),
        )
        choice = out["choices"][0]
        reasoning, answer = split_reasoning(choice["message"].get("content") or "")
        return Completion(
            text=answer,
            reasoning=reasoning,
            finish_reason="repetition" if guard is not None and guard.fired else choice.get("finish_reason") or "stop",
            prompt_tokens=int(out["usage"]["prompt_tokens"]),
            completion_tokens=int(out["usage"]["completion_tokens"]),
            latency_s=time.perf_counter() - start,
        )

    def complete_many(self, requests: Iterable[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Greedy requests through the batched engine, ``parallel`` at a time; others one by one.

        Yields ``(index, completion or error)`` as each finishes. If llama.cpp fails mid-batch,
        the requests not yet answered yield that error (the run records them for a retry).
        """
        todo = list(requests)
        engine = self._batched() if any(r.params.temperature == 0 for r in todo) else None
        greedy = [i for i, r in enumerate(todo) if engine is not None and r.params.temperature == 0]
        done: set[int] = set()
        if engine is not None and greedy:
            try:
                for k, out in engine.complete_many([todo[i] for i in greedy]):
                    done.add(greedy[k])
                    yield greedy[k], out
            except RunnerError as exc:
                for i in greedy:
                    if i not in done:
                        done.add(i)
                        yield i, exc
        for i, request in enumerate(todo):
            if i not in done:
                yield i, attempt(self, request)

    def _batched(self) -> BatchedEngine | None:
        """The batched engine (created once), or None when ``parallel`` is 1 or the chat format cannot batch."""
        if self._engine is None and self.parallel > 1:
            from runners.batched import BatchedEngine

            try:
                self._engine = BatchedEngine(self.llm, parallel=self.parallel)
            except RunnerError:
                self.parallel = 1
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self.llm.close()
