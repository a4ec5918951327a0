"""A generation result cache shared by all runs: rerunning unchanged prompts costs nothing.

An answer is keyed by the model (its file's sha256, or the server and served model for HTTP
backends, with their extra request fields), the chat messages and every generation parameter.
For a GGUF model the messages and the file fix the rendered prompt, since the chat template is
read from the file. Only answers are kept, never errors, so failed generations are retried.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runners.base import BatchRunner, Completion, Request, Runner, attempt

IDENTITY_KEYS = ("backend", "sha256", "base_url", "served_model", "extra_body")
"""Provenance fields that decide what a model answers (the rest, e.g. threads, does not)."""


def default_path() -> Path:
    """``PROBE_RESULT_CACHE``, else ``PROBE_CACHE/generations.sqlite3``."""
    from runners.catalog import cache_dir

    return Path(os.environ.get("PROBE_RESULT_CACHE") or cache_dir() / "generations.sqlite3")


class ResultCache:
    """Answers in an SQLite file (``default_path()`` unless given).

    Writes commit one by one in WAL mode, so a killed run keeps what it cached and several
    processes (shards on one machine) can share the file.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
        self._db.commit()

    @staticmethod
    def key(identity: dict[str, Any], request: Request) -> str:
        """sha256 of the model identity, the chat messages and the generation parameters."""
        blob = json.dumps([identity, request.messages, request.params.as_dict()], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Completion | None:
        row = self._db.execute("SELECT completion FROM answers WHERE key = ?", (key,)).fetchone()
        return Completion(**json.loads(row[0])) if row else None

    def put(self, key: str, completion: Completion) -> None:
        self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, json.dumps(asdict(completion))))
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedRunner:
    """Answers what ``cache`` holds at once and sends only the rest to ``runner``.

    Attributes:
        hits: requests answered from the cache so far.
    """

    def __init__(self, runner: Runner, cache: ResultCache):
        self.runner, self.cache, self.name, self.hits = runner, cache, runner.name, 0
        provenance = runner.provenance()
        self.identity = {k: provenance[k] for k in IDENTITY_KEYS if k in provenance}

    def provenance(self) -> dict[str, Any]:
        return self.runner.provenance()

    def complete(self, request: Request) -> Completion:
        key = self.cache.key(self.identity, request)
        if (hit := self.cache.get(key)) is not None:
            self.hits += 1
            return hit
        out = self.runner.complete(request)
        self.cache.put(key, out)
        return out

    def complete_many(self, requests: Iterable[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Cached answers first, then the runner's, each cached as it arrives."""
        todo = list(requests)
        keys = [self.cache.key(self.identity, r) for r in todo]
        misses = []
        for i, key in enumerate(keys):
            if (hit := self.cache.get(key)) is not None:
                self.hits += 1
                yield i, hit
            else:
                misses.append(i)
        if not misses:
            return
        asked = [todo[i] for i in misses]
        if isinstance(self.runner, BatchRunner):
            answers = self.runner.complete_many(asked)
        else:
            answers = ((k, attempt(self.runner, r)) for k, r in enumerate(asked))
        for k, out in answers:
            if isinstance(out, Completion):
                self.cache.put(keys[misses[k]], out)
            yield misses[k], out

    def close(self) -> None:
        self.runner.close()
        self.cache.close()
