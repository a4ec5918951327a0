"""``probe diff`` and ``probe run --baseline``: every exit code, every output format."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import JUnitXml

from probes.cli import cli


def _run(tmp_path: Path, suite: Path, model: str, name: str) -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["run", "-s", str(suite), "-m", model, "--out", str(out), "--no-report",
                                      "-c", "keyword"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def runs(tmp_path: Path, mini_suite: Path) -> tuple[Path, Path]:
    return _run(tmp_path, mini_suite, "fake/echo", "echo"), _run(tmp_path, mini_suite, "fake/refuse", "refuse")


def test_self_diff_exits_0_without_flips(runs: tuple[Path, Path]) -> None:
    echo, _ = runs
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(echo), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["flips"] == [] and data["matched"] == 8 and data["shifted"] == []


def test_different_model_flips_and_fails_a_tight_gate(runs: tuple[Path, Path], tmp_path: Path) -> None:
    echo, refuse = runs
    junit, md, html = tmp_path / "j.xml", tmp_path / "d.md", tmp_path / "d.html"
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(refuse), "--max-shift", "0.1", "--alpha", "1",
                                      "--junit", str(junit), "--markdown", str(md), "--html", str(html)])
    assert result.exit_code == 1, result.output
    assert "SHIFT" in result.output and "flip" in result.output
    suites = list(JUnitXml.fromfile(str(junit)))
    cases = [case for suite in suites for case in suite]
    assert {c.name for c in cases} == {"benign", "china_sensitive", "control", "harmful"}
    failed = [c for c in cases if not c.is_passed]
    assert failed and all(c.result[0].type == "BehaviourShift" for c in failed)
    assert "| topic group |" in md.read_text() and "label flips" in md.read_text()
    assert "No shift" not in html.read_text() and "fake/refuse" in html.read_text()


def test_default_gate_is_not_fooled_by_small_samples(runs: tuple[Path, Path]) -> None:
    echo, refuse = runs
    # two pairs per topic group: a total flip is still not significant at alpha 0.01
    assert CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(refuse)]).exit_code == 0


def test_fail_on_selects_labels(runs: tuple[Path, Path]) -> None:
    echo, refuse = runs
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(refuse), "--alpha", "1", "--fail-on", "deflection"])
    assert result.exit_code == 0  # refusals do not count


def test_topics_restricts_the_gate(runs: tuple[Path, Path]) -> None:
    echo, refuse = runs
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(refuse), "--json", "--topics", "harmful"])
    assert [g["topic_group"] for g in json.loads(result.output)["groups"]] == ["harmful"]


def test_corrupt_input_exits_2(runs: tuple[Path, Path], tmp_path: Path) -> None:
    echo, _ = runs
    bad = tmp_path / "bad.jsonl"
    lines = (echo / "records.jsonl").read_text().splitlines()
    bad.write_text(lines[0] + "\n{garbage\n" + lines[1] + "\n")
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(bad)])
    assert result.exit_code == 2 and "corrupt record" in result.output


def test_suite_mismatch_exits_2_unless_allowed(runs: tuple[Path, Path], tmp_path: Path, mini_suite: Path) -> None:
    echo, _ = runs
    changed = tmp_path / "mini2.yaml"
    changed.write_text(mini_suite.read_text().replace('version: "1"', 'version: "2"'))
    other = _run(tmp_path, changed, "fake/echo", "other")
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(other)])
    assert result.exit_code == 2 and "--allow-suite-mismatch" in result.output
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(other), "--allow-suite-mismatch"])
    assert result.exit_code == 0 and "warning: different suites" in result.output


def test_bad_fail_on_exits_2(runs: tuple[Path, Path]) -> None:
    echo, _ = runs
    result = CliRunner().invoke(cli, ["diff", "-c", "keyword", str(echo), str(echo), "--fail-on", "rudeness"])
    assert result.exit_code == 2 and "--fail-on" in result.output


def test_run_with_baseline_gates(runs: tuple[Path, Path], tmp_path: Path, mini_suite: Path) -> None:
    echo, _ = runs
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", "fake/refuse", "--out", str(tmp_path / "c"),
                                      "-c", "keyword", "--no-report", "--baseline", str(echo), "--alpha", "1"])
    assert result.exit_code == 1 and "SHIFT" in result.output
