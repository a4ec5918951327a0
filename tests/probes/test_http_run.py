"""``probe run --runner openai`` against a real llama-cpp-python server on loopback."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.store import RunStore
from tests.runners.test_openai_http import MODEL, LlamaServer, _free_port

pytestmark = pytest.mark.model
SUITE = ["-s", "overrefusal", "--limit", "20", "--max-tokens", "32"]
GREEDY = ["--extra-body", '{"repeat_penalty": 1.0}']  # llama-cpp-python's server defaults to 1.1


@pytest.fixture
def server(smollm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LlamaServer]:
    monkeypatch.setenv("no_proxy", "*")
    srv = LlamaServer(smollm, _free_port(), tmp_path / "server.log")
    srv.start()
    yield srv
    srv.kill()


def _probe(*args: str, wait: bool = True) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "probes", "run", *args]
    env = {**os.environ, "no_proxy": "*"}
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env)


def _responses(run: Path) -> dict[str, str]:
    return {r.item_id: r.response for r in RunStore(run).read().values()}


def test_http_and_gguf_runs_agree(server: LlamaServer, tmp_path: Path) -> None:
    """The same greedy answers over HTTP as from the local runner's sequential path.

    ``--parallel 1`` makes the local run decode as the server does (one sequence, the same
    ``create_chat_completion``): batched decoding can round differently on some CPUs, which
    ``tests/runners/test_batched.py`` covers; here only the HTTP runner is under test. One request
    at a time keeps the order the same too: llama-cpp-python reuses the previous prompt's KV cache,
    and how much of a prompt it evaluates afresh changes the rounding.
    """
    http = _probe(*SUITE, *GREEDY, "--runner", "openai", "--base-url", server.url, "-m", MODEL, "-o", str(tmp_path / "http"),
                  "--concurrency", "1", "--no-report")
    assert http.returncode == 0, http.stderr
    local = _probe(*SUITE, "-m", MODEL, "-o", str(tmp_path / "gguf"), "--threads", "2", "--parallel", "1", "--no-report")
    assert local.returncode == 0, local.stderr
    a, b = _responses(tmp_path / "http"), _responses(tmp_path / "gguf")
    assert len(a) == len(b) == 20
    differ = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert not differ, differ
    meta = json.loads((tmp_path / "http" / "run.json").read_text())
    assert meta["models"][MODEL]["backend"] == "openai" and "OPENAI_API_KEY" not in json.dumps(meta)


def test_server_killed_mid_run_then_resumed(server: LlamaServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [*SUITE, "--runner", "openai", "--base-url", server.url, "-m", MODEL, "-o", str(out),
            "--concurrency", "1", "--no-report", "-c", "keyword"]
    proc = _probe(*args, "--max-retries", "0", "--timeout", "5", wait=False)
    assert isinstance(proc, subprocess.Popen)
    records = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not records.exists() or len(records.read_text().splitlines()) < 3):
        time.sleep(0.05)
    server.kill()
    assert proc.wait(timeout=120) == 0
    first = RunStore(out).read()
    errors = [r for r in first.values() if r.error]
    assert len(first) == 20 and 0 < len(errors) < 20
    server.start()
    again = _probe(*args, "--max-retries", "3", "--timeout", "120")  # runner options: keys unchanged
    assert again.returncode == 0, again.stderr
    final = RunStore(out).read()
    assert len(final) == 20 and not [r for r in final.values() if r.error]
    lines = records.read_text().splitlines()
    assert len(lines) == 20 + len(errors)  # each failed key written once more, nothing else repeated
