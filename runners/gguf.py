"""Local GGUF models through llama-cpp-python, with the chat template stored in the file."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from runners.base import Completion, GenerationParams, Request, RunnerError, split_reasoning
from runners.gguf_file import file_sha256, inspect_gguf


def default_threads() -> int:
    """One thread per core: llama.cpp decoding does not gain from hyper-threads."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def default_gpu_layers() -> int:
    """All layers (-1) when llama-cpp-python was built with GPU offload, else 0."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


class GGUFRunner:
    """One GGUF model loaded once through ``llama_cpp.Llama``.

    Args:
        name: the model name recorded in each record.
        path: the GGUF file (validated with ``inspect_gguf`` before llama.cpp opens it).
        threads: CPU threads (default: one per core).
        n_gpu_layers: layers to offload (default: all with a GPU build, else none).
        n_ctx: context size (default: enough for the prompt and ``max_tokens``).
        params: generation defaults, used to size the context.
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
        from llama_cpp import Llama

        try:
            self.llm = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.threads,
                n_gpu_layers=self.n_gpu_layers,
                seed=(params or GenerationParams()).seed,
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
            "llama_cpp_python": llama_cpp.__version__,
            "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
            "host": platform.node(),
            **self.extra,
        }

    def complete(self, request: Request) -> Completion:
        p = request.params
        start = time.perf_counter()
        out: Any = self.llm.create_chat_completion(
            messages=request.messages,  # type: ignore[arg-type]
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=p.seed,
        )
        choice = out["choices"][0]
        reasoning, answer = split_reasoning(choice["message"].get("content") or "")
        return Completion(
            text=answer,
            reasoning=reasoning,
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(out["usage"]["prompt_tokens"]),
            completion_tokens=int(out["usage"]["completion_tokens"]),
            latency_s=time.perf_counter() - start,
        )

    def close(self) -> None:
        self.llm.close()
