"""Run folders: ``run.json`` (written atomically) and append-only ``records.jsonl``.

Readers fold records by ``key`` and the last line wins, so relabelling appends labelled copies
and never rewrites the file. A truncated last line (a run killed mid-write) is skipped with a
warning; the rerun writes that record again.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from probes.errors import ProbeError
from probes.record import ProbeRecord

RUN_FILE = "run.json"
RECORDS_FILE = "records.jsonl"


class StoreError(ProbeError):
    """A run folder or records file cannot be read or written."""


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder, fsync, then rename.

    Raises:
        StoreError: the folder is not writable or the disk is full.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(_os_message(path, exc)) from None


def _os_message(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"disk full while writing {path}"
    return f"cannot write {path}: {exc.strerror or exc}"


@dataclass
class ReadResult:
    """Records folded by key, plus what was skipped."""

    records: dict[str, ProbeRecord]
    lines: int
    skipped: int


def read_records(path: Path) -> ReadResult:
    """Read a ``records.jsonl`` file, folding by key (last line wins).

    A malformed last line is a truncated write and is skipped with a warning. A malformed line
    elsewhere means the file is corrupt.

    Raises:
        StoreError: the file is missing, unreadable or corrupt.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    lines = raw.split(b"\n")
    records: dict[str, ProbeRecord] = {}
    skipped = 0
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = ProbeRecord.from_dict(json.loads(line.decode("utf-8")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            if i == last:
                warnings.warn(f"{path}:{i + 1}: skipping a truncated last line", stacklevel=2)
                skipped += 1
                continue
            raise StoreError(f"{path}:{i + 1}: corrupt record ({exc})") from None
        records[record.key] = record
    return ReadResult(records=records, lines=sum(1 for x in lines if x.strip()), skipped=skipped)


class RunStore:
    """One run folder: ``run.json``, ``records.jsonl`` and the report."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def records_path(self) -> Path:
        return self.root / RECORDS_FILE

    @property
    def run_path(self) -> Path:
        return self.root / RUN_FILE

    @property
    def report_path(self) -> Path:
        return self.root / "report.html"

    def exists(self) -> bool:
        """Whether this folder holds a run (a ``run.json``)."""
        return self.run_path.is_file()

    def read_meta(self) -> dict[str, Any]:
        """The parsed ``run.json``.

        Raises:
            StoreError: missing or not valid JSON.
        """
        try:
            meta = json.loads(self.run_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{self.root} is not a run folder (no {RUN_FILE})") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.run_path}: unreadable ({exc})") from None
        if not isinstance(meta, dict):
            raise StoreError(f"{self.run_path}: not a JSON object")
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Atomically replace ``run.json``."""
        atomic_write(self.run_path, json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n")

    def read(self) -> dict[str, ProbeRecord]:
        """Records folded by key; an absent file is an empty run."""
        if not self.records_path.exists():
            return {}
        return read_records(self.records_path).records

    def appender(self) -> RecordWriter:
        """A writer that appends and flushes one record per line."""
        return RecordWriter(self.records_path)


def _last_line(path: Path, size: int) -> tuple[int, bytes]:
    """Offset and bytes of the text after the last newline (empty when the file ends in one)."""
    with open(path, "rb") as f:
        pos = size
        while pos > 0:
            step = min(pos, 1 << 16)
            f.seek(pos - step)
            block = f.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                start = pos - step + cut + 1
                break
            pos -= step
        else:
            start = 0
        f.seek(start)
        return start, f.read(size - start)


class RecordWriter:
    """Appends records to a JSONL file, one flushed line each (a crash loses at most one)."""

    def __init__(self, path: Path):
        self.path = path
        self._file: TextIO | None = None

    def __enter__(self) -> RecordWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)
            self._repair_partial_line()
        except OSError as exc:
            raise StoreError(_os_message(self.path, exc)) from None
        return self

    def _repair_partial_line(self) -> None:
        # A killed writer can leave a last line without its newline. If it holds a whole record,
        # finish the line; otherwise cut the fragment, so that the file stays valid JSONL and the
        # rerun writes that record again.
        assert self._file is not None
        size = self.path.stat().st_size  # 0 for devices and empty files: nothing to repair
        start, tail = _last_line(self.path, size)
        if not tail:
            return
        try:
            ProbeRecord.from_dict(json.loads(tail.decode("utf-8")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            warnings.warn(f"{self.path}: dropping a truncated last line", stacklevel=3)
            self._file.truncate(start)
        else:
            self._file.write("\n")

    def write(self, record: ProbeRecord) -> None:
        """Append one record and flush it to the OS.

        Raises:
            StoreError: the disk is full or the file is not writable.
        """
        assert self._file is not None, "use RecordWriter as a context manager"
        try:
            self._file.write(record.to_json())
            self._file.flush()
        except OSError as exc:
            raise StoreError(_os_message(self.path, exc)) from None

    def write_all(self, records: Iterable[ProbeRecord]) -> int:
        """Append several records; returns how many."""
        n = 0
        for record in records:
            self.write(record)
            n += 1
        return n

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # the write that failed already raised StoreError


def merge_runs(sources: list[RunStore], dest: RunStore) -> int:
    """Combine run folders of one suite and one set of parameters into ``dest``.

    Records are de-duplicated by key; where a key appears twice, a successful generation wins over
    a failed one. Returns the number of records written.

    Raises:
        StoreError: a source is unreadable, the runs are incompatible, or ``dest`` already holds a run.
    """
    if dest.exists() or dest.records_path.exists():
        raise StoreError(f"{dest.root} already holds a run; merge into a new folder")
    metas = [s.read_meta() for s in sources]
    first = metas[0]
    for src, meta in zip(sources[1:], metas[1:]):
        for field_name in ("suite", "params"):
            ours = meta.get(field_name, {})
            theirs = first.get(field_name, {})
            if field_name == "suite":
                ours, theirs = ours.get("sha256"), theirs.get("sha256")
            if ours != theirs:
                raise StoreError(f"cannot merge {src.root} with {sources[0].root}: different {field_name}")
    merged: dict[str, ProbeRecord] = {}
    for src in sources:
        for key, record in src.read().items():
            if key not in merged or merged[key].error is not None:
                merged[key] = record
    meta = {**first, "models": {k: v for m in metas for k, v in m.get("models", {}).items()},
            "merged_from": [{"path": str(s.root), "created": m.get("created"), "selection": m.get("selection")}
                            for s, m in zip(sources, metas)]}
    dest.write_meta(meta)
    with dest.appender() as writer:
        return writer.write_all(merged.values())
