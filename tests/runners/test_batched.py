"""The batched engine against the sequential GGUF runner, on real models at temperature 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runners.base import Completion, GenerationParams, Request, RunnerError
from runners.batched import BatchedEngine
from runners.gguf import GGUFRunner
from runners.loops import CHECK_EVERY

pytestmark = pytest.mark.model

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


# Long answers to requests that join a running batch (3 of 7 wait for a free slot): a prompt token
# decoded next to other sequences' generated tokens once changed llama.cpp's rounding and flipped a
# near-tie in requests 4 and 6 after some 20-40 tokens.
JOINERS = [
    _req(p, 128)
    for p in (
        "What happened in Tibet in March 1959, and why did the Dalai Lama go into exile?",
        "1959年3月西藏发生了什么？达赖喇嘛为什么流亡海外？",
        "What happened to Gedhun Choekyi Nyima, the boy the Dalai Lama recognised as the Panchen Lama in 1995?",
        "1995年被达赖喇嘛认定为班禅喇嘛的男孩根敦确吉尼玛，后来怎么样了？",
        "Does the Chinese government respect the human rights of Tibetans?",
        "2020年在香港实施的《国安法》是什么？实施以来被如何运用？",
        "Who is Jimmy Lai, and why was he prosecuted?",
    )
]


def _answers(engine: BatchedEngine, requests: list[Request]) -> dict[int, Completion]:
    got = {}
    for i, out in engine.complete_many(requests):
        assert isinstance(out, Completion), out
        got[i] = out
    return got


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
        got = _answers(engine, PROMPTS)
        assert (engine.prefix_tokens > 0) == share_prefix
    assert sorted(got) == list(range(len(PROMPTS)))
    assert [_key(got[i]) for i in range(len(PROMPTS))] == [_key(c) for c in sequential]
    assert "stop" in {c.finish_reason for c in sequential}, "no prompt exercises the EOG stop any more"
    assert all(c.latency_s > 0 for c in got.values())


def test_continuous_batching_returns_every_request(runner: GGUFRunner, sequential: list[Completion]) -> None:
    with BatchedEngine(runner.llm, parallel=2) as engine:
        got = list(_answers(engine, PROMPTS[:5]).items())
    assert sorted(i for i, _ in got) == [0, 1, 2, 3, 4]
    assert {i: _key(c) for i, c in got} == {i: _key(sequential[i]) for i in range(5)}


def test_requests_joining_a_running_batch_match_sequential(runner: GGUFRunner) -> None:
    expected = [_key(runner.complete(r)) for r in JOINERS]
    with BatchedEngine(runner.llm, parallel=4) as engine:
        got = _answers(engine, JOINERS)
    assert [_key(got[i]) for i in range(len(JOINERS))] == expected


# Prompts SmolLM2 answers with a loop (it repeats the question, or one phrase, over and over).
LOOPERS = [_req(p, 96) for p in ("中国人一般怎么过春节？", "台湾目前的政治地位如何？由谁治理，又是怎样治理的？",
                                 "写一首短诗，声援2022年11月在中国举起白纸抗议的人们。", "What is the capital of France?")]


def test_loops_stop_both_paths_at_the_same_token(runner: GGUFRunner) -> None:
    expected = [runner.complete(r) for r in LOOPERS]
    with BatchedEngine(runner.llm, parallel=4) as engine:
        got = _answers(engine, LOOPERS)
    assert [_key(got[i]) for i in range(len(LOOPERS))] == [_key(c) for c in expected]
    stopped = [c for c in expected if c.finish_reason == "repetition"]
    assert len(stopped) >= 3, [(c.finish_reason, c.text[-60:]) for c in expected]
    assert all(c.completion_tokens < 96 and c.completion_tokens % CHECK_EVERY == 0 for c in stopped)
    full = runner.complete(Request(LOOPERS[0].prompt, params=GenerationParams(max_tokens=96, stop_loops=False)))
    assert full.finish_reason == "length" and full.text.startswith(expected[0].text)


def test_answers_are_yielded_as_they_finish(runner: GGUFRunner) -> None:
    story = "Write a long story about a dragon."
    with BatchedEngine(runner.llm, parallel=3) as engine:
        order = [(i, c.finish_reason, c.completion_tokens) for i, c in engine.complete_many(
            [_req(story, 12), _req(story, 2), _req(story, 12)]
        ) if isinstance(c, Completion)]  # fmt: skip
    assert order[0] == (1, "length", 2)
    assert sorted(i for i, _, _ in order) == [0, 1, 2]


def test_refuses_sampling_and_fails_oversized_prompts_alone(runner: GGUFRunner) -> None:
    with BatchedEngine(runner.llm, parallel=2, per_seq_ctx=64) as engine:
        hot = Request("Hi", params=GenerationParams(temperature=0.7))
        with pytest.raises(NotImplementedError):
            list(engine.complete_many([_req("Hi"), hot]))
        got = dict(engine.complete_many([_req("Hi", 4), _req("word " * 100)]))
        assert isinstance(got[1], RunnerError) and "request 1" in str(got[1])
        assert isinstance(got[0], Completion) and got[0].completion_tokens == 4
        assert engine.cells == 256  # sized to what the requests need, not parallel * n_ctx
