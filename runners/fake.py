"""A fake runner for tests and dry runs: ``fake/echo``, ``fake/refuse``, or scripted outputs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from runners.base import Completion, Request

REFUSAL = "I'm sorry, but I can't help with that."


class FakeRunner:
    """Returns scripted outputs without loading a model.

    Args:
        outputs: a list cycled through in order, or a function of the request.
        name: the model name recorded in each record.
    """

    def __init__(
        self,
        outputs: Sequence[str] | Callable[[Request], str] = ("OK",),
        name: str = "fake/scripted",
    ):
        self.name = name
        self._outputs = outputs
        self.calls: list[Request] = []

    def provenance(self) -> dict[str, Any]:
        return {"sha256": hashlib.sha256(self.name.encode()).hexdigest(), "backend": "fake"}

    def complete(self, request: Request) -> Completion:
        self.calls.append(request)
        if callable(self._outputs):
            text = self._outputs(request)
        else:
            text = self._outputs[(len(self.calls) - 1) % len(self._outputs)]
        words = text.split()
        limit = request.params.max_tokens
        finish = "length" if len(words) > limit else "stop"
        return Completion(
            text=" ".join(words[:limit]) if finish == "length" else text,
            finish_reason=finish,
            prompt_tokens=len(request.prompt.split()),
            completion_tokens=min(len(words), limit),
        )

    def close(self) -> None:
        pass


def fake_runner(model: str) -> FakeRunner:
    """Build ``fake/echo`` (repeats the prompt) or ``fake/refuse`` (always refuses)."""
    kind = model.split("/", 1)[1] if "/" in model else model
    if kind == "echo":
        return FakeRunner(lambda r: r.prompt, name=model)
    if kind == "refuse":
        return FakeRunner([REFUSAL], name=model)
    raise ValueError(f"unknown fake model {model!r}; use fake/echo or fake/refuse")
