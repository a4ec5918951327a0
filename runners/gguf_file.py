"""Check a GGUF file before llama.cpp sees it, read its metadata, and hash it (cached).

llama.cpp can crash the process on a malformed file, so every model path passes ``inspect_gguf``
first: the magic, the header and the tensor table must parse, and the file must be as long as
the tensors it declares.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runners.base import RunnerError
from runners.catalog import cache_dir

_MAGIC = b"GGUF"


def inspect_gguf(path: Path) -> dict[str, Any]:
    """Validate ``path`` as a complete GGUF file and return its provenance metadata.

    Parsing a header takes seconds (the tokenizer's vocabulary is in it), so a file's result is
    cached in ``PROBE_CACHE/gguf.json`` by path, size and mtime, like its sha256.

    Returns:
        ``name``, ``architecture``, ``size_label``, ``parameters`` (counted from tensors),
        ``quantisation``, ``context_length``, ``chat_template_sha256``, ``gguf_version``,
        ``file_size``.

    Raises:
        RunnerError: missing, not GGUF, corrupt or truncated.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            magic = f.read(4)
        return dict(_cached("gguf.json", path, lambda: _inspect(path, magic, size)))
    except FileNotFoundError:
        raise RunnerError(f"{path}: no such model file") from None
    except OSError as exc:
        raise RunnerError(f"{path}: cannot read ({exc.strerror})") from None


def _inspect(path: Path, magic: bytes, size: int) -> dict[str, Any]:
    if magic != _MAGIC:
        raise RunnerError(f"{path}: not a GGUF file (bad magic {magic!r})")
    from gguf import GGUFReader  # imported here: reading numpy-heavy gguf is not needed for --help

    try:
        reader = GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt header
        raise RunnerError(f"{path}: corrupt or truncated GGUF header ({exc})") from None
    end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if end > size:
        raise RunnerError(f"{path}: truncated GGUF file ({size} bytes, its tensors need {end})")

    def field(name: str) -> Any:
        f = reader.fields.get(name)
        return f.contents() if f is not None else None

    arch = field("general.architecture")
    template = field("tokenizer.chat_template")
    file_type = field("general.file_type")
    return {
        "name": field("general.name"),
        "architecture": arch,
        "size_label": field("general.size_label"),
        "parameters": sum(int(t.n_elements) for t in reader.tensors),
        "quantisation": _file_type_name(file_type),
        "context_length": field(f"{arch}.context_length"),
        "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
        "gguf_version": field("GGUF.version"),
        "file_size": size,
    }


def _file_type_name(value: Any) -> str | None:
    if value is None:
        return None
    from gguf import LlamaFileType

    try:
        return LlamaFileType(int(value)).name.removeprefix("MOSTLY_")
    except ValueError:
        return str(value)


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached in ``PROBE_CACHE/sha256.json`` by path, size and mtime."""
    marker = path.with_name(path.name + ".sha256")

    def digest() -> str:
        if marker.is_file() and marker.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            return marker.read_text().strip()  # written by ``pull`` after verifying the file
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    return str(_cached("sha256.json", path, digest))


def _cached(name: str, path: Path, compute: Callable[[], Any]) -> Any:
    """``compute()`` for ``path``, kept in ``PROBE_CACHE/name`` under its path, size and mtime."""
    path = path.resolve()
    stat = path.stat()
    cache_file = cache_dir() / name
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    cache[key] = compute()
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=0))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache only saves time
    return cache[key]
