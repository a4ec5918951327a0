"""The runner interface every backend implements: ``complete(request) -> Completion``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from probes.errors import ProbeError


@dataclass(frozen=True)
class GenerationParams:
    """Generation settings; their canonical form enters every record key."""

    temperature: float = 0.0
    """0 means greedy decoding."""

    max_tokens: int = 256
    """Largest number of generated tokens; a longer answer ends with ``finish_reason='length'``."""

    seed: int = 0
    """Sampling seed (irrelevant at temperature 0, kept so sampled runs reproduce)."""

    top_p: float = 1.0
    """Nucleus sampling threshold (only with temperature > 0)."""

    stop_loops: bool = True
    """End an answer at its first repetition loop (``runners.loops``), finish reason ``repetition``."""

    def as_dict(self) -> dict[str, Any]:
        """Canonical dict for records, keys and caches."""
        return asdict(self)


@dataclass(frozen=True)
class Request:
    """One chat request."""

    prompt: str
    system: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)

    @property
    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style chat messages."""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": self.prompt}]


@dataclass(frozen=True)
class Completion:
    """What a backend returns for one request."""

    text: str
    """The answer with reasoning removed (see ``split_reasoning``)."""

    finish_reason: str
    """``stop``, ``length`` or ``content_filter``."""

    reasoning: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


class RunnerError(ProbeError):
    """A backend failed for a reason the user can act on (bad model file, unreachable server)."""


@runtime_checkable
class Runner(Protocol):
    """A model backend. Implementations load their model once and are used for many requests."""

    name: str
    """Model name as the user gave it."""

    def provenance(self) -> dict[str, Any]:
        """What identifies the model: ``sha256`` (required) plus path, metadata, build info."""
        ...

    def complete(self, request: Request) -> Completion:
        """Generate one answer."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


@runtime_checkable
class BatchRunner(Runner, Protocol):
    """A runner that works on many requests at once (batched decoding, concurrent HTTP)."""

    def complete_many(self, requests: Iterable[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Yield ``(index, completion or the error it raised)`` in the order requests finish."""
        ...


def attempt(runner: Runner, request: Request) -> Completion | Exception:
    """``runner.complete(request)``, or the exception it raised; latency filled in if missing."""
    start = time.perf_counter()
    try:
        out = runner.complete(request)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded, not fatal
        return exc
    return out if out.latency_s else replace(out, latency_s=time.perf_counter() - start)


_THINK = re.compile(r"^\s*<think>(.*?)(?:</think>|$)", re.DOTALL)


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split ``<think>...</think>`` reasoning from the answer that follows it.

    An unclosed ``<think>`` (generation stopped while reasoning) is all reasoning and no answer.

    Returns:
        (reasoning or None, answer)
    """
    match = _THINK.match(text)
    if not match:
        return None, text
    return match.group(1).strip(), text[match.end():].lstrip()
