"""The OpenAI-compatible runner against a real llama-cpp-python server, plus stubs for failure modes."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runners.base import Completion, GenerationParams, Request, Runner, RunnerError
from runners.openai_http import OpenAIRunner

pytestmark = pytest.mark.model

MODEL = "smollm2-135m-instruct"
KEY = "sk-test-SECRET-0123456789abcdef"
SHORT = GenerationParams(max_tokens=16)

Reply = tuple[int, dict[str, str], Any]
"""What a stub answers: status, extra headers, JSON body."""
Handler = Callable[[str, dict[str, str], Any], Reply]
"""A stub's logic: (path, request headers, request JSON) -> Reply."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` as a subprocess that can be killed and restarted on its port."""

    def __init__(self, model: Path, port: int, log: Path) -> None:
        self.model, self.port, self.log = model, port, log
        self.url = f"http://127.0.0.1:{port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
               "--port", str(self.port), "--n_ctx", "2048", "--n_threads", "2", "--n_threads_batch", "2", "--model_alias", MODEL,
               "--flash_attn", "true"]  # as the GGUF runner: the same arithmetic, comparable answers
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                direct.open(f"{self.url}/models", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        self.kill()
        pytest.fail(f"llama_cpp.server did not answer within {within} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "*")  # a CI proxy must not swallow loopback requests


@pytest.fixture(scope="module")
def server(smollm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    srv = LlamaServer(smollm, _free_port(), tmp_path_factory.mktemp("llama-server") / "server.log")
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture
def stub() -> Iterator[Callable[[Handler], str]]:
    """Starts in-process HTTP stubs on 127.0.0.1; returns each one's base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> str:
        class Stub(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(size) or "null")
                status, headers, body = handler(self.path, dict(self.headers), request)
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _models(*ids: str) -> Reply:
    return 200, {}, {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "stub"} for i in ids]}


def _chat(content: str, finish: str = "stop", **message: Any) -> Reply:
    choice = {"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": finish}
    return 200, {}, {"model": "m", "choices": [choice], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}


def test_greedy_completion_is_repeatable(server: LlamaServer) -> None:
    runner = OpenAIRunner(server.url, MODEL)
    assert isinstance(runner, Runner)
    req = Request("What is the capital of France?", params=SHORT)
    first, second = runner.complete(req), runner.complete(req)
    assert first.text and (first.text, first.finish_reason) == (second.text, second.finish_reason)
    assert 0 < first.completion_tokens <= 16 and first.prompt_tokens > 5 and first.latency_s > 0
    prov = runner.provenance()
    assert prov["backend"] == "openai" and prov["served_model"] == MODEL and prov["owned_by"] == "me"
    assert prov["sha256"] == hashlib.sha256(f"{server.url}|{MODEL}".encode()).hexdigest()


def test_complete_many_returns_every_request(server: LlamaServer) -> None:
    runner = OpenAIRunner(server.url, MODEL, concurrency=4)
    requests = [Request(f"Name a fruit that starts with the letter {c}.", params=SHORT) for c in "ABCDEF"]
    results = dict(runner.complete_many(requests))
    assert sorted(results) == list(range(6))
    outs = [results[i] for i in range(6)]
    assert all(isinstance(out, Completion) and out.completion_tokens > 0 for out in outs), outs
    texts = [out.text if isinstance(out, Completion) else "" for out in outs]
    # Greedy decoding: answering concurrently must not change the answers.
    assert [runner.complete(r).text for r in requests[:2]] == texts[:2]


def test_unknown_model_lists_served_ids(server: LlamaServer) -> None:
    with pytest.raises(RunnerError, match=f"model 'gpt-4o' is not served at .*; served models: {MODEL}$"):
        OpenAIRunner(server.url, "gpt-4o")


def test_unreachable_server_fails_fast() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(RunnerError, match=f"^cannot reach OpenAI-compatible server at {url}: Connection refused$"):
        OpenAIRunner(url, MODEL)
    assert time.monotonic() - start < 2


def test_retries_with_backoff_and_retry_after(stub: Callable[[Handler], str]) -> None:
    times: list[float] = []

    def reply(path: str, headers: dict[str, str], body: Any) -> Reply:
        if path.endswith("/models"):
            return _models("m")
        times.append(time.monotonic())
        if len(times) == 1:
            return 429, {}, {"error": {"message": "slow down"}}
        if len(times) == 2:
            return 429, {"Retry-After": "0.3"}, {"error": {"message": "slow down"}}
        return _chat("hello")

    out = OpenAIRunner(stub(reply), "m", backoff_base=0.01).complete(Request("hi"))
    assert out.text == "hello" and len(times) == 3
    assert times[1] - times[0] < 0.25 <= 0.3 <= times[2] - times[1]  # backoff base, then Retry-After


def test_gives_up_on_5xx_and_never_retries_other_4xx(stub: Callable[[Handler], str]) -> None:
    calls: list[str] = []

    def reply(path: str, headers: dict[str, str], body: Any) -> Reply:
        if path.endswith("/models"):
            return _models("m")
        calls.append(body["messages"][-1]["content"])
        return (503, {}, {"error": "loading"}) if calls[-1] == "busy" else (400, {}, {"detail": "bad seed"})

    runner = OpenAIRunner(stub(reply), "m", max_retries=2, backoff_base=0.01)
    with pytest.raises(RunnerError, match=r"failed after 3 attempt\(s\): HTTP 503: loading$"):
        runner.complete(Request("busy"))
    with pytest.raises(RunnerError, match="HTTP 400: bad seed$"):
        runner.complete(Request("bad"))
    assert calls == ["busy"] * 3 + ["bad"]


def test_provider_moderation_is_its_own_outcome(stub: Callable[[Handler], str]) -> None:
    def reply(path: str, headers: dict[str, str], body: Any) -> Reply:
        if path.endswith("/models"):
            return _models("m")
        if body["messages"][-1]["content"] == "blocked prompt":
            return 400, {}, {"error": {"code": "content_filter", "message": "The prompt was filtered."}}
        return _chat("partial ans", finish="content_filter")

    runner = OpenAIRunner(stub(reply), "m", backoff_base=0.01)
    for prompt in ("blocked prompt", "blocked answer"):
        out = runner.complete(Request(prompt))
        assert (out.text, out.finish_reason) == ("", "content_filter")


def test_reasoning_field_or_think_tags(stub: Callable[[Handler], str]) -> None:
    def reply(path: str, headers: dict[str, str], body: Any) -> Reply:
        if path.endswith("/models"):
            return _models("m")
        if body["messages"][-1]["content"] == "field":
            return _chat("Paris.", reasoning_content="France's capital")
        return _chat("<think>France's capital</think>\n\nParis.")

    runner = OpenAIRunner(stub(reply), "m")
    for prompt in ("field", "inline"):
        out = runner.complete(Request(prompt))
        assert (out.reasoning, out.text) == ("France's capital", "Paris.")


def test_api_key_is_sent_but_never_shown(stub: Callable[[Handler], str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_TEST_KEY", KEY)
    seen: list[str] = []

    def echo(path: str, headers: dict[str, str], body: Any) -> Reply:  # a careless server echoing headers
        seen.append(headers.get("Authorization", ""))
        if path.endswith("/models"):
            return 200, {}, {"data": [{"id": "m", "owned_by": headers["Authorization"], "meta": headers}]}
        status = 401 if body["messages"][-1]["content"] == "401" else 503
        return status, {}, {"error": {"message": f"rejected {headers}"}}

    url = stub(echo)
    runner = OpenAIRunner(url, "m", api_key_env="PROBE_TEST_KEY", max_retries=1, backoff_base=0.01)
    assert seen == [f"Bearer {KEY}"]
    errors = [str(r) for _, r in runner.complete_many([Request("401"), Request("503")])]
    with pytest.raises(RunnerError) as unknown:
        OpenAIRunner(url, "other", api_key_env="PROBE_TEST_KEY")
    shown = [json.dumps(runner.provenance()), repr(runner), str(unknown.value), *errors]
    assert any("HTTP 401 (is $PROBE_TEST_KEY set and valid?)" in e for e in errors)
    assert "***" in shown[0] and not any(KEY in s or KEY[:12] in s for s in shown)


def test_killed_server_fails_the_batch_fast_and_a_restart_recovers(smollm: Path, tmp_path: Path) -> None:
    srv = LlamaServer(smollm, _free_port(), tmp_path / "server.log")
    srv.start()
    try:
        runner = OpenAIRunner(srv.url, MODEL, concurrency=4, timeout=30, max_retries=2, backoff_base=0.05)
        long = GenerationParams(max_tokens=64)  # each answer takes ~0.5 s: the kill lands mid-batch
        requests = [Request(f"Count from {i} to 500, separated by commas.", params=long) for i in range(6)]
        results: list[tuple[int, Completion | Exception]] = []
        killed = 0.0
        for index, result in runner.complete_many(requests):
            if not results:
                srv.kill()
                killed = time.monotonic()
            results.append((index, result))
        elapsed = time.monotonic() - killed
        assert sorted(i for i, _ in results) == list(range(6))
        assert isinstance(results[0][1], Completion)
        assert all(isinstance(r, RunnerError) for _, r in results[1:]), results
        assert elapsed < 10 < runner.timeout
        srv.start()
        assert runner.complete(Request("Say hi.", params=GenerationParams(max_tokens=4))).completion_tokens > 0
    finally:
        srv.kill()
