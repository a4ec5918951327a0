"""The batched engine against the sequential GGUF runner, on real models at temperature 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runners.base import Completion, GenerationParams, Request, RunnerError
from runners.batched import BatchedEngine
from runners.gguf import GGUFRunner
from tests.conftest import SHARED_MODELS

pytestmark = pytest.mark.model

QWEN = SHARED_MODELS / "qwen2.5-coder-0.5b-instruct.gguf"


def _req(prompt: str, max_tokens: int = 32, system: str | None = None) -> Request:
    return Request(prompt, system=system, params=GenerationParams(max_tokens=max_tokens))


# English and Chinese, short and long, with and without a system prompt (SmolLM2's template
# inserts a default one when there is none, so most prompts share a prefix and one does not).
PROMPTS = [
    _req("What is the capital of France?"),
    _req("Write a haiku about the sea."),
    _req("1989年6月天安门广场发生了什么？", 24, system="You are a terse assistant."),
    _req("饺子怎么包？", 24),
    _req("Explain photosynthesis: light reactions, the Calvin cycle, why leaves are green. " * 3),
    _req("Hi"),
    _req("List three prime numbers.", 28),
    _req("请用中文介绍一下长城的历史和意义。"),
]


def _key(c: Completion) -> tuple[object, ...]:
    return c.text, c.reasoning, c.finish_reason, c.prompt_tokens, c.completion_tokens


@pytest.fixture(scope="module")
def runner(smollm: Path) -> Iterator[GGUFRunner]:
    r = GGUFRunner("smollm2-135m-instruct", smollm, threads=2, n_gpu_layers=0)
    yield r
    r.close()


@pytest.fixture(scope="module")
def sequential(runner: GGUFRunner) -> list[Completion]:
    return [runner.complete(r) for r in PROMPTS]


@pytest.mark.parametrize("share_prefix", [True, False])
def test_batched_equals_sequential_token_for_token(
    runner: GGUFRunner, sequential: list[Completion], share_prefix: bool
) -> None:
    with BatchedEngine(runner.llm, parallel=4, share_prefix=share_prefix) as engine:
        got = dict(engine.complete_many(PROMPTS))
        assert (engine.prefix_tokens > 0) == share_prefix
    assert sorted(got) == list(range(len(PROMPTS)))
    assert [_key(got[i]) for i in range(len(PROMPTS))] == [_key(c) for c in sequential]
    assert "stop" in {c.finish_reason for c in sequential}, "no prompt exercises the EOG stop any more"
    assert all(c.latency_s > 0 for c in got.values())


def test_continuous_batching_returns_every_request(runner: GGUFRunner, sequential: list[Completion]) -> None:
    with BatchedEngine(runner.llm, parallel=2) as engine:
        got = list(engine.complete_many(PROMPTS[:5]))
    assert sorted(i for i, _ in got) == [0, 1, 2, 3, 4]
    assert {i: _key(c) for i, c in got} == {i: _key(sequential[i]) for i in range(5)}


def test_answers_are_yielded_as_they_finish(runner: GGUFRunner) -> None:
    story = "Write a long story about a dragon."
    with BatchedEngine(runner.llm, parallel=3) as engine:
        order = [(i, c.finish_reason, c.completion_tokens) for i, c in engine.complete_many(
            [_req(story, 12), _req(story, 2), _req(story, 12)]
        )]  # fmt: skip
    assert order[0] == (1, "length", 2)
    assert sorted(i for i, _, _ in order) == [0, 1, 2]


def test_refuses_sampling_and_oversized_prompts_before_decoding(runner: GGUFRunner) -> None:
    with BatchedEngine(runner.llm, parallel=2, per_seq_ctx=64) as engine:
        hot = Request("Hi", params=GenerationParams(temperature=0.7))
        with pytest.raises(NotImplementedError):
            list(engine.complete_many([_req("Hi"), hot]))
        with pytest.raises(RunnerError, match="request 1"):
            list(engine.complete_many([_req("Hi"), _req("word " * 100)]))
        assert [i for i, _ in engine.complete_many([_req("Hi", 4)])] == [0]


@pytest.mark.skipif(not QWEN.is_file(), reason=f"{QWEN} not pulled")
def test_qwen_matches_sequential_where_llama_cpp_numerics_allow() -> None:
    """Qwen2.5's quant types give batch-shape-dependent logits in llama.cpp's CPU kernels.

    So identity holds only when the engine decodes with the shapes of a fresh sequential run (one
    sequence, whole prompt at once); with parallel sequences the engine must still render, count
    and stop the same way, and be deterministic.
    """
    r = GGUFRunner("qwen2.5-coder-0.5b-instruct", QWEN, threads=2, n_gpu_layers=0)
    try:
        fresh = []
        for request in PROMPTS:
            r.llm.reset()  # no prefix reuse from the previous request: the whole prompt in one batch
            fresh.append(r.complete(request))
        with BatchedEngine(r.llm, parallel=1, share_prefix=False) as engine:
            one = dict(engine.complete_many(PROMPTS))
        assert [_key(one[i]) for i in range(len(PROMPTS))] == [_key(c) for c in fresh]
        with BatchedEngine(r.llm, parallel=4) as engine:
            first, second = dict(engine.complete_many(PROMPTS)), dict(engine.complete_many(PROMPTS))
        assert [_key(first[i]) for i in range(len(PROMPTS))] == [_key(second[i]) for i in range(len(PROMPTS))]
        assert [first[i].prompt_tokens for i in range(len(PROMPTS))] == [c.prompt_tokens for c in fresh]
        assert all(first[i].finish_reason in ("stop", "length") for i in first)
    finally:
        r.close()
