"""A real ``probe run`` on SmolLM2 killed with SIGKILL mid-run, then rerun to completion."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_kill_9_then_rerun_has_one_record_per_key(smollm: Path, mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "probes", "run", "-s", str(mini_suite), "-m", "smollm2-135m-instruct",
           "-m", "fake/echo", "--out", str(out), "--max-tokens", "48", "--threads", "2", "--no-report", "-c", "keyword"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while len(_lines(records)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(_lines(records))
    assert 3 <= killed_at < 16, "the run should have been killed part-way"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    keys = [json.loads(line)["key"] for line in _lines(records)]
    assert len(keys) == len(set(keys)) == 16
