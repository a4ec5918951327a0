"""The result cache: what it keys on, what it keeps, and a real rerun of SmolLM2 served from it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from probes.cli import cli
from probes.store import read_records
from runners.base import Completion, GenerationParams, Request
from runners.cache import CachedRunner, ResultCache
from runners.fake import FakeRunner

REQUESTS = [Request(f"question {i}?", params=GenerationParams(max_tokens=8)) for i in range(5)]


def _answers(runner: CachedRunner, requests: list[Request]) -> dict[int, Completion]:
    got = dict(runner.complete_many(requests))
    assert all(isinstance(v, Completion) for v in got.values())
    return got  # type: ignore[return-value]


def test_second_pass_is_answered_from_the_cache(tmp_path: Path) -> None:
    fake = FakeRunner(lambda r: f"answer to {r.prompt}")
    cached = CachedRunner(fake, ResultCache(tmp_path / "c.sqlite3"))
    first = _answers(cached, REQUESTS)
    assert len(fake.calls) == 5 and cached.hits == 0
    second = _answers(cached, [*REQUESTS, Request("new one?", params=GenerationParams(max_tokens=8))])
    assert len(fake.calls) == 6 and cached.hits == 5, "only the new request reaches the model"
    assert [second[i] for i in range(5)] == [first[i] for i in range(5)]


def test_key_covers_model_messages_and_every_parameter() -> None:
    base, ident = REQUESTS[0], {"backend": "gguf", "sha256": "a" * 64}
    key = ResultCache.key(ident, base)
    variants = [
        ResultCache.key({**ident, "sha256": "b" * 64}, base),
        ResultCache.key({**ident, "extra_body": {"repeat_penalty": 1.0}}, base),
        ResultCache.key(ident, replace(base, system="Be terse.")),
        ResultCache.key(ident, replace(base, prompt="question 0")),
        *(ResultCache.key(ident, replace(base, params=replace(base.params, **{field: value})))
          for field, value in (("temperature", 0.7), ("max_tokens", 9), ("seed", 1), ("top_p", 0.9))),
    ]  # fmt: skip
    assert len({key, *variants}) == len(variants) + 1
    assert ResultCache.key(dict(reversed(ident.items())), base) == key


def test_errors_are_not_cached_and_answers_survive_reopening(tmp_path: Path) -> None:
    calls = []

    def flaky(request: Request) -> str:
        calls.append(request.prompt)
        if request.prompt == "question 2?" and calls.count("question 2?") == 1:
            raise RuntimeError("backend hiccup")
        return "fine"

    path = tmp_path / "c.sqlite3"
    got = dict(CachedRunner(FakeRunner(flaky), ResultCache(path)).complete_many(REQUESTS))
    assert isinstance(got[2], RuntimeError)
    reopened = CachedRunner(FakeRunner(flaky), ResultCache(path))
    again = _answers(reopened, REQUESTS)
    assert reopened.hits == 4 and calls.count("question 2?") == 2 and again[2].text == "fine"
    assert sqlite3.connect(path).execute("SELECT count(*) FROM answers").fetchone()[0] == 5


@pytest.mark.model
def test_rerun_in_a_new_folder_generates_nothing_new(smollm: Path, mini_suite: Path, tmp_path: Path) -> None:
    args = ["run", "-s", str(mini_suite), "-m", "smollm2-135m-instruct", "--max-tokens", "24", "--no-report",
            "-c", "keyword", "--threads", "2"]  # fmt: skip
    first = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")], catch_exceptions=False)
    second = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b")], catch_exceptions=False)
    uncached = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "c"), "--no-cache"], catch_exceptions=False)
    assert first.exit_code == second.exit_code == uncached.exit_code == 0, first.output + second.output
    assert "8 answers from the cache" in second.output and "from the cache" not in uncached.output

    def answers(run: str) -> dict[str, tuple[str | None, int]]:
        return {r.key: (r.response, r.completion_tokens) for r in read_records(tmp_path / run / "records.jsonl").records.values()}

    assert answers("a") == answers("b") == answers("c") and len(answers("a")) == 8
    meta = json.loads((tmp_path / "b" / "run.json").read_text())
    assert meta["models"]["smollm2-135m-instruct"]["sha256"]
