"""Any OpenAI-compatible chat-completions server: vLLM, llama-server, Ollama, TGI, OpenAI itself.

Standard library only (urllib plus worker threads): httpx is not installed in this environment,
and a blocking client in a few threads is enough for requests that each wait seconds on a model.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import json
import os
import queue
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from runners.base import Completion, Request, RunnerError, split_reasoning

_FILTERED = re.compile(r"content[ _-]?filter|moderation", re.IGNORECASE)
_MAX_WAIT = 60.0  # longest single backoff or Retry-After honoured, in seconds
_NETWORK_ERRORS = (OSError, http.client.HTTPException)  # refused, reset, timed out (URLError is an OSError)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would resend the Authorization header to any host a redirect names; refuse instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OpenAIRunner:
    """A model served behind ``POST {base_url}/chat/completions``.

    Args:
        base_url: the API root, e.g. ``http://gpu-node:8000/v1``.
        model: the model id the server knows it by (checked against ``GET {base_url}/models``).
        api_key_env: environment variable holding the API key; unset means no Authorization header.
        concurrency: requests in flight at once in ``complete_many``.
        timeout: seconds to connect and to wait between bytes of an answer.
        max_retries: retries after 429, 5xx, connection errors and timeouts (other 4xx never).
        backoff_base: first backoff in seconds; it doubles each retry, with jitter.
        name: the model name recorded in each record (default: ``model``).
        extra_body: server-specific fields added to every request, e.g. ``{"repeat_penalty": 1.0}``
            for llama-cpp-python's server, whose default penalty of 1.1 departs from greedy decoding.

    Raises:
        RunnerError: the server is unreachable, rejects the key, or does not serve ``model``.
    """

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8,
                 timeout: float = 120.0, max_retries: int = 5, backoff_base: float = 1.0,
                 name: str | None = None, extra_body: dict[str, Any] | None = None) -> None:
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("concurrency >= 1, max_retries >= 0 and timeout > 0 are required")
        self.base_url, self.model, self.name = base_url.rstrip("/"), model, name or model
        self.concurrency, self.timeout, self.max_retries = concurrency, timeout, max_retries
        self.backoff_base = backoff_base
        self.extra_body = dict(extra_body or {})
        self._key = os.environ.get(api_key_env, "")  # kept out of __repr__, provenance and errors
        self._key_env = api_key_env
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._closed = threading.Event()
        entry = self._probe()
        self.served_model = str(entry.get("id", model))
        self._server_info = {k: v for k, v in entry.items() if k not in ("id", "object")}
        self.sha256 = hashlib.sha256(f"{self.base_url}|{self.served_model}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"OpenAIRunner(base_url={self.base_url!r}, model={self.model!r}, concurrency={self.concurrency})"

    def provenance(self) -> dict[str, Any]:
        """Backend, URL, served model id, a stand-in ``sha256`` and what ``/models`` says of the model."""
        info = {**self._server_info, "backend": "openai", "base_url": self.base_url,
                "served_model": self.served_model, "sha256": self.sha256, "extra_body": self.extra_body}
        return dict(self._scrub(info))

    def complete(self, request: Request) -> Completion:
        """Generate one answer, retrying transient failures.

        Raises:
            RunnerError: a non-retryable HTTP error, or retries exhausted.
        """
        return self._complete(request, self._closed)

    def complete_many(self, requests: Iterable[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Run requests ``concurrency`` at a time; yield ``(index, result)`` as each one finishes.

        A failed request yields its exception, so one failure never stops the batch. Workers are
        daemon threads that stop taking work once the caller stops iterating (Ctrl-C, break).
        """
        todo: queue.SimpleQueue[tuple[int, Request]] = queue.SimpleQueue()
        for n, request in enumerate(requests):
            todo.put((n, request))
        n = todo.qsize()
        done: queue.SimpleQueue[tuple[int, Completion | Exception]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    index, job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    result: Completion | Exception = self._complete(job, stop)
                except Exception as exc:  # noqa: BLE001 - handed to the caller, who records it
                    result = exc
                done.put((index, result))

        for k in range(min(self.concurrency, n)):
            threading.Thread(target=work, name=f"openai-{k}", daemon=True).start()
        try:
            for _ in range(n):
                yield done.get()
        finally:
            stop.set()

    def close(self) -> None:
        """Stop retrying; there is no connection to release (one connection per request)."""
        self._closed.set()

    def _probe(self) -> dict[str, Any]:
        where = f"OpenAI-compatible server at {self.base_url}"
        try:
            body = self._send("GET", f"{self.base_url}/models", None, min(self.timeout, 10.0))
        except urllib.error.HTTPError as exc:  # 404 is nearly always a base URL missing its /v1
            hint = " (OpenAI-compatible base URLs usually end in /v1)" if exc.code == 404 else ""
            raise RunnerError(f"cannot use {where}: GET /models: {self._http_error(exc)[0]}{hint}") from None
        except (*_NETWORK_ERRORS, ValueError) as exc:  # ValueError: not a URL urllib can open
            raise RunnerError(f"cannot reach {where}: {_reason(exc)}") from None
        entries = [e for e in body.get("data") or [] if isinstance(e, dict) and "id" in e]
        ids = [str(e["id"]) for e in entries]
        for wanted in (self.model, f"{self.model}:latest"):  # Ollama lists "llama3" as "llama3:latest"
            if wanted in ids:
                return entries[ids.index(wanted)]
        if ids:  # an empty list (some proxies) proves nothing: trust the name given
            shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
            raise RunnerError(f"model {self.model!r} is not served at {self.base_url}; "
                              f"served models: {self._scrub(shown)}")
        return {}

    def _complete(self, request: Request, stop: threading.Event) -> Completion:
        p = request.params
        payload = {"model": self.served_model, "messages": request.messages, "temperature": p.temperature,
                   "top_p": p.top_p, "max_tokens": p.max_tokens, "seed": p.seed, **self.extra_body}
        url = f"{self.base_url}/chat/completions"
        error, attempt = "", 0
        for attempt in range(1, self.max_retries + 2):
            start = time.perf_counter()
            wait: float | None = None
            try:
                return self._parse(self._send("POST", url, payload, self.timeout), time.perf_counter() - start)
            except urllib.error.HTTPError as exc:
                error, raw = self._http_error(exc)
                if exc.code == 400 and _FILTERED.search(raw):  # the provider's moderation, not the model
                    return Completion(text="", finish_reason="content_filter", latency_s=time.perf_counter() - start)
                if exc.code != 429 and exc.code < 500:
                    raise RunnerError(f"POST {url}: {error}") from None
                wait = _retry_after(exc.headers.get("Retry-After"))
            except _NETWORK_ERRORS as exc:
                error = _reason(exc)
            if attempt > self.max_retries or stop.is_set() or self._closed.is_set():
                break
            if wait is None:  # exponential backoff with "equal jitter", so clients spread out
                step = min(_MAX_WAIT, self.backoff_base * 2 ** (attempt - 1))
                wait = step / 2 + random.uniform(0, step / 2)
            if stop.wait(min(wait, _MAX_WAIT)):
                break
        raise RunnerError(f"POST {url} failed after {attempt} attempt(s): {error}")

    def _parse(self, body: dict[str, Any], latency: float) -> Completion:
        choices = body.get("choices")
        if not choices or not isinstance(choices[0], dict):
            raise RunnerError(f"answer from {self.base_url} has no choices: {self._clean(json.dumps(body))}")
        choice, usage = choices[0], body.get("usage") or {}
        message = choice.get("message") or {}
        out = Completion(text="", finish_reason=choice.get("finish_reason") or "stop", latency_s=latency,
                         prompt_tokens=int(usage.get("prompt_tokens") or 0),
                         completion_tokens=int(usage.get("completion_tokens") or 0))
        if out.finish_reason == "content_filter":
            return out
        content = message.get("content") or ""
        # vLLM's reasoning parsers (and DeepSeek's API) return it separately; others inline <think>.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            return replace(out, text=content, reasoning=str(reasoning))
        thought, answer = split_reasoning(content)
        return replace(out, text=answer, reasoning=thought)

    def _send(self, method: str, url: str, payload: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "User-Agent": "divergence-probe"}
        headers.update({"Authorization": f"Bearer {self._key}"} if self._key else {})
        data = None if payload is None else json.dumps(payload).encode()
        with self._opener.open(urllib.request.Request(url, data, headers, method=method), timeout=timeout) as resp:
            raw = resp.read()
        body = _json(raw)
        if not isinstance(body, dict):
            text = self._clean(raw.decode(errors="replace"))
            raise RunnerError(f"{method} {url} did not answer with a JSON object: {text}")
        return body

    def _http_error(self, exc: urllib.error.HTTPError) -> tuple[str, str]:
        """(one-line message, raw body) for an HTTP error response."""
        try:
            raw = exc.read().decode("utf-8", "replace")
        except _NETWORK_ERRORS:
            raw = ""
        hint = f" (is ${self._key_env} set and valid?)" if exc.code in (401, 403) else ""
        return f"HTTP {exc.code}{hint}: {self._clean(_message(raw) or str(exc.reason))}", raw

    def _clean(self, text: str) -> str:
        """One short line with the API key masked: servers may echo request headers in errors."""
        return " ".join(str(self._scrub(text)).split())[:300]

    def _scrub(self, value: Any) -> Any:
        if not self._key:
            return value
        if isinstance(value, str):
            return value.replace(self._key, "***")
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value


def _message(raw: str) -> str:
    """The human part of an error body: OpenAI ``error.message``, vLLM ``message``, FastAPI ``detail``."""
    body = _json(raw)
    if body is None:
        return raw
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        err = err.get("message") or err.get("detail") or err
    return err if isinstance(err, str) else json.dumps(err)


def _json(raw: str | bytes) -> Any:
    """Parsed JSON, or None for anything else."""
    with contextlib.suppress(ValueError):
        return json.loads(raw)
    return None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc  # URLError wraps the socket error
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), if usable."""
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    return None
