"""The ``probe`` command line, driven through click's CliRunner with the fake runner."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from probes.cli import cli
from probes.store import RunStore, read_records


def invoke(*args: str) -> "object":
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_with_fake_models_writes_records_and_report(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke("run", "--suite", str(mini_suite), "-m", "fake/echo", "-m", "fake/refuse", "--out", str(out),
                    "-c", "keyword")
    assert result.exit_code == 0, result.output
    records = RunStore(out).read()
    assert len(records) == 16
    refused = [r for r in records.values() if r.model == "fake/refuse"]
    assert all(r.labels["refusal-keyword@1"].label == "refusal" for r in refused)
    meta = json.loads((out / "run.json").read_text())
    assert meta["suite"]["name"] == "mini" and len(meta["suite"]["sha256"]) == 64
    assert set(meta["models"]) == {"fake/echo", "fake/refuse"}
    assert (out / "report.html").stat().st_size > 1000


def test_rerun_resumes_without_duplicates(mini_suite: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", out, "--limit", "3")
    result = invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", out)
    assert result.exit_code == 0
    assert "(3 done before)" in result.output or "5 new answers" in result.output
    assert "fake/echo: 5 answers, " in result.output  # a line per model that logs keep, bar or not
    lines = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    assert len(lines) == 8 == len({json.loads(x)["key"] for x in lines})


def test_default_out_is_stable_per_settings(mini_suite: Path) -> None:
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--no-report")
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--no-report")
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--no-report", "--max-tokens", "9")
    runs = sorted(Path("runs").iterdir())
    assert len(runs) == 2
    assert all(p.name.startswith("mini-") for p in runs)


def test_topic_and_limit_select(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", str(out), "--topic", "harmful", "--no-report")
    assert {r.topic_group for r in RunStore(out).read().values()} == {"harmful"}


def test_other_suite_in_same_folder_is_refused(mini_suite: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", out, "--no-report")
    other = tmp_path / "o.txt"
    other.write_text("hello\n")
    result = CliRunner().invoke(cli, ["run", "-s", str(other), "-m", "fake/echo", "--out", out])
    assert result.exit_code == 2 and "choose another --out" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-s", "nope", "-m", "fake/echo"], "unknown suite 'nope'; built-in suites:"),
        (["run", "-m", "no-such-model", "-s", "ASSET"], "unknown model 'no-such-model'; known models: smollm2-135m-instruct"),
        (["run", "-m", "missing.gguf", "-s", "ASSET"], "missing.gguf: no such model file"),
        (["run", "-m", "fake/bogus", "-s", "ASSET"], "unknown fake model"),
        (["run", "-s", "missing.yaml"], "missing.yaml: no such file"),
        (["run", "-s", "ASSET", "-m", "fake/echo", "--topic", "weather"], "unknown topic 'weather'"),
        (["models", "pull", "gpt-9"], "unknown model 'gpt-9'"),
        (["report", "RUNDIR"], "is not a run folder"),
        (["suites", "show", "nope"], "unknown suite"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, mini_suite: Path, tmp_path: Path) -> None:
    (tmp_path / "RUNDIR").mkdir()
    args = [str(mini_suite) if a == "ASSET" else str(tmp_path / a) if a == "RUNDIR" else a for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_not_gguf_and_truncated_gguf_are_refused(tmp_path: Path, mini_suite: Path, smollm: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("hello, not a model")
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", str(text)])
    assert result.exit_code == 2 and "not a GGUF file" in result.output
    cut = tmp_path / "cut.gguf"
    with open(smollm, "rb") as src:
        cut.write_bytes(src.read(5_000_000))
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", str(cut)])
    assert result.exit_code == 2 and "truncated" in result.output
    head = tmp_path / "head.gguf"
    with open(smollm, "rb") as src:
        head.write_bytes(src.read(100))
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", str(head)])
    assert result.exit_code == 2 and "GGUF" in result.output and "Traceback" not in result.output


def test_unreachable_hub_is_a_clear_error(mini_suite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub cannot be reached, without waiting on retries
    monkeypatch.setenv("HF_HOME", str(Path.cwd() / "hf"))
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", "hf:org/repo/model.gguf"])
    assert result.exit_code == 2
    assert "cannot fetch hf:org/repo/model.gguf from the Hugging Face hub" in result.output
    bad = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", "hf:model.gguf"])
    assert bad.exit_code == 2 and "expected hf:OWNER/REPO/FILE.gguf" in bad.output


def test_models_json_lists_catalog() -> None:
    result = invoke("models", "--json")
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} >= {"smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct",
                                         "qwen2.5-coder-1.5b-instruct", "gemma-3-270m"}
    gemma = next(r for r in rows if r["name"] == "gemma-3-270m")
    assert gemma["instruct"] is False and gemma["country"] == "US" and len(gemma["sha256"]) == 64


def test_help_does_not_import_heavy_backends() -> None:
    code = ("import sys; from probes.cli import cli; from click.testing import CliRunner;"
            "r = CliRunner().invoke(cli, ['run', '--help']); assert r.exit_code == 0, r.output;"
            "print(sorted(m for m in ('llama_cpp', 'sklearn', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_classify_run_dir_appends_labels(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", str(out), "--no-report")
    before = len((out / "records.jsonl").read_text().splitlines())
    result = invoke("classify", str(out))
    assert result.exit_code == 0
    assert len((out / "records.jsonl").read_text().splitlines()) == 2 * before
    assert len(read_records(out / "records.jsonl").records) == before


def test_label_overrides_win_in_reports(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/refuse", "--out", str(out), "--no-report", "-c", "keyword")
    key = next(iter(RunStore(out).read()))
    overrides = tmp_path / "o.csv"
    overrides.write_text(f"key,label\n{key},compliance\n")
    assert invoke("label", str(out), "--overrides", str(overrides)).exit_code == 0
    from analysis import to_frame

    frame = to_frame(RunStore(out).read().values())
    row = frame[frame.key == key].iloc[0]
    assert row.label == "compliance" and row.overridden
    bad = tmp_path / "bad.csv"
    bad.write_text("key,label\nnope,compliance\n")
    result = CliRunner().invoke(cli, ["label", str(out), "--overrides", str(bad)])
    assert result.exit_code == 2 and "not in this run" in result.output


def test_label_review_is_interactive(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", str(out), "--no-report")
    result = CliRunner().invoke(cli, ["label", str(out), "--review", "--below", "1"], input="r\ns\nq\n")
    assert result.exit_code == 0, result.output
    humans = [r for r in RunStore(out).read().values() if "human" in r.labels]
    assert len(humans) == 1 and humans[0].labels["human"].label == "refusal"


def test_report_exports_csv_and_json(mini_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "-m", "fake/refuse", "--out", str(out), "-c", "keyword",
           "--no-report")
    result = invoke("report", str(out), "--csv", str(tmp_path / "t.csv"), "--json")
    data = json.loads(result.output)
    assert data["records"] == 16 and data["rates"] and "findings" in data
    assert len((tmp_path / "t.csv").read_text().splitlines()) >= 17


def test_report_exports_parquet_with_the_same_rows(mini_suite: Path, tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "r"
    invoke("run", "-s", str(mini_suite), "-m", "fake/echo", "--out", str(out), "-c", "keyword", "--no-report")
    invoke("report", str(out), "--parquet", str(tmp_path / "t.parquet"), "--csv", str(tmp_path / "t.csv"))
    table = pd.read_parquet(tmp_path / "t.parquet")
    assert len(table) == 8 and table["response"].tolist() == table["prompt"].tolist()  # fake/echo
    assert table["p_compliance"].dtype.kind == "f" and table["label"].notna().all()
    assert sorted(table["key"]) == sorted(pd.read_csv(tmp_path / "t.csv")["key"])
