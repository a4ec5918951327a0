"""The GGUF runner on the real SmolLM2-135M model through llama-cpp-python."""

from pathlib import Path

import pytest

from runners.base import GenerationParams, Request, split_reasoning
from runners.gguf import GGUFRunner

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def runner(smollm: Path) -> GGUFRunner:
    r = GGUFRunner("smollm2-135m-instruct", smollm, threads=2, n_gpu_layers=0)
    yield r
    r.close()


def test_greedy_generation_is_repeatable(runner: GGUFRunner) -> None:
    req = Request("What is the capital of France?", params=GenerationParams(max_tokens=16))
    first, second = runner.complete(req), runner.complete(req)
    assert first.text and first.text == second.text
    assert 0 < first.completion_tokens <= 16 and first.prompt_tokens > 5


def test_max_tokens_stops_with_length(runner: GGUFRunner) -> None:
    out = runner.complete(Request("Write a long story about a dragon.", params=GenerationParams(max_tokens=4)))
    assert out.finish_reason == "length" and out.completion_tokens == 4


def test_system_prompt_changes_the_rendered_prompt(runner: GGUFRunner) -> None:
    plain = runner.complete(Request("Hi", params=GenerationParams(max_tokens=2)))
    pirate = "You are a pirate who answers every question with a sea shanty. " * 5
    with_system = runner.complete(Request("Hi", system=pirate, params=GenerationParams(max_tokens=2)))
    assert with_system.prompt_tokens > plain.prompt_tokens


def test_provenance_reads_gguf_metadata(runner: GGUFRunner) -> None:
    p = runner.provenance()
    assert p["sha256"] == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert p["gguf"]["architecture"] == "llama"
    assert p["gguf"]["quantisation"] == "Q4_1"
    assert 130e6 < p["gguf"]["parameters"] < 140e6
    assert p["gguf"]["context_length"] == 8192 and len(p["gguf"]["chat_template_sha256"]) == 64
    assert p["n_gpu_layers"] == 0 and p["threads"] == 2
    assert p["cpu_features"].startswith("CPU :") and "|" in p["cpu_features"]  # what the rounding depends on


def test_split_reasoning() -> None:
    assert split_reasoning("<think>hmm\nok</think>\n\nAnswer.") == ("hmm\nok", "Answer.")
    assert split_reasoning("<think>still thinking") == ("still thinking", "")
    assert split_reasoning("No reasoning <think>x</think>") == (None, "No reasoning <think>x</think>")


def test_complete_many_batches_greedy_requests_and_samples_the_rest(runner: GGUFRunner) -> None:
    greedy = [Request(p, params=GenerationParams(max_tokens=12)) for p in ("What is 2+2?", "Name a colour.")]
    hot = Request("Name a fruit.", params=GenerationParams(max_tokens=12, temperature=0.9, seed=3))
    got = dict(runner.complete_many([greedy[0], hot, greedy[1]]))
    assert sorted(got) == [0, 1, 2] and runner.parallel > 1
    for i, request in ((0, greedy[0]), (2, greedy[1])):
        out, expected = got[i], runner.complete(request)
        assert not isinstance(out, Exception) and (out.text, out.completion_tokens) == (expected.text, expected.completion_tokens)
    assert not isinstance(got[1], Exception) and got[1].completion_tokens > 0


def test_default_parallel_grows_for_small_models_and_shrinks_for_large_ones() -> None:
    from runners.gguf import default_parallel

    assert default_parallel(2, False, 94 << 20) == 64  # SmolLM2-135M: short steps gain from more sequences
    assert default_parallel(2, False, 469 << 20) == 32  # Qwen2.5-Coder-0.5B
    assert default_parallel(1, False, 469 << 20) == 16
    assert default_parallel(8, True, 5 << 30) == 32  # GPU, past 4 GB: halved
