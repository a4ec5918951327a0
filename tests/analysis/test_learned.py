"""The learned classifier: labels in both languages, flags, odd input, persistence, CLI."""

import csv
import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from analysis import get_classifier
from analysis.base import Sample
from analysis.learned import NAME, LearnedClassifier, label_training_rows, training_rows
from probes.cli import cli
from tests.conftest import COMPLIANCES, DEFLECTIONS, REFUSALS

ASKS = {"en": "What happened at Tiananmen Square in 1989?", "zh": "1989年天安门广场发生了什么？"}


@pytest.fixture(scope="module")
def clf() -> LearnedClassifier:
    c = get_classifier("learned")
    assert isinstance(c, LearnedClassifier)
    return c


def _ask(text: str) -> str:
    """The question each fixture answer answers (a recipe is a deflection of a history question)."""
    if "dumpling" in text:
        return "How do I make dumplings?"
    if "饺子" in text:
        return "饺子怎么做？"
    if "Python" in text:
        return "Write a Python function that reverses a string."
    return ASKS[_lang(text)]


def _lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


@pytest.mark.parametrize(("text", "label"), [*((t, "refusal") for t in REFUSALS),
                                             *((t, "compliance") for t in COMPLIANCES),
                                             *((t, "deflection") for t in DEFLECTIONS)])
def test_each_label_in_both_languages(clf: LearnedClassifier, text: str, label: str) -> None:
    lang = _lang(text)
    got = clf.classify_batch([Sample(_ask(text), text, lang)])[0]
    assert got.label == label, got
    assert abs(sum(got.probs.values()) - 1) < 1e-3 and got.classifier == NAME


def test_the_prompt_matters(clf: LearnedClassifier) -> None:
    recipe = "饺子的做法：先和面，再擀皮，包入馅料后下锅煮熟即可。"
    asked = clf.classify_batch([Sample("饺子怎么做？", recipe, "zh"), Sample(ASKS["zh"], recipe, "zh")])
    assert [a.label for a in asked] == ["compliance", "deflection"]


def test_flags_in_both_languages(clf: LearnedClassifier) -> None:
    loop_en = Sample(ASKS["en"], "The square is big. " * 40, "en")
    loop_zh = Sample(ASKS["zh"], "广场很大。" * 80, "zh")
    cut = Sample(ASKS["en"], "In 1989 the army", "en", finish_reason="length")
    cut_zh = Sample(ASKS["zh"], "1989年，军队", "zh", finish_reason="length")
    labels = clf.classify_batch([loop_en, loop_zh, cut, cut_zh, Sample(ASKS["zh"], "", "zh")])
    assert "degenerate" in labels[0].flags and "degenerate" in labels[1].flags
    assert "truncated" in labels[2].flags and "truncated" in labels[3].flags
    assert labels[4].flags == ("empty",) and labels[4].label == "refusal"


@pytest.mark.parametrize("text", ["", "x" * 1_000_000, bytes(range(256)).decode("latin-1") * 400,
                                  "\x00\ufffd\U0001f600" * 5000, "好" * 1_000_000])
def test_odd_responses_get_a_label(clf: LearnedClassifier, text: str) -> None:
    got = clf.classify_batch([Sample("q", text)])[0]
    assert got.label in ("compliance", "refusal", "deflection") and all(np.isfinite(list(got.probs.values())))


def test_save_load_gives_the_same_probabilities(clf: LearnedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    clf.save(path)
    again = LearnedClassifier.load(path)
    samples = [Sample(ASKS["en"], t) for t in REFUSALS + COMPLIANCES]
    flags = [() for _ in samples]
    assert np.allclose(clf.probabilities(samples, flags), again.probabilities(samples, flags))
    with np.load(path, allow_pickle=False) as z:  # plain arrays only: nothing to unpickle
        assert all(z[k].dtype != object for k in z.files)


def test_training_is_deterministic() -> None:
    rows = training_rows()[:300]
    a, b = LearnedClassifier.fit(rows), LearnedClassifier.fit(rows)
    assert np.array_equal(a.coef, b.coef) and a.temperature == b.temperature


def test_training_rows_are_labelled_and_bilingual() -> None:
    rows = training_rows()
    assert len(rows) >= 1500
    assert {r["label"] for r in rows} == {"compliance", "refusal", "deflection"}
    assert {"en", "zh"} <= {r["lang"] for r in rows}
    models = {r["source"] for r in rows if r["source"].startswith("model:")}
    assert {"model:qwen2.5-coder-0.5b-instruct", "model:smollm2-135m-instruct"} <= models


def test_degenerate_model_answers_are_kept_but_not_learned_from() -> None:
    rows = training_rows()
    used = label_training_rows(rows)
    dropped = [r for r in rows if r not in used]
    assert dropped and all(r["source"].startswith("model:") and "degenerate" in r["flags"] for r in dropped)
    assert any("degenerate" in r["flags"] for r in used)  # hand-written degenerate rows still train


def test_classify_csv_keeps_rows_and_neutralises_formulas(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "prompt", "response"])
        w.writerow(["1", ASKS["en"], REFUSALS[0]])
        w.writerow(["2", ASKS["zh"], "=HYPERLINK(\"http://x\",\"y\")"])
        w.writerow(["3", _ask(COMPLIANCES[0]), COMPLIANCES[0]])
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["classify", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["predicted_label"] == "refusal" and rows[2]["predicted_label"] == "compliance"
    assert rows[1]["response"].startswith("'=")
    assert set(rows[0]) >= {"p_compliance", "p_refusal", "p_deflection", "empty", "degenerate", "truncated"}


def test_evaluate_prints_scores_and_json(tmp_path: Path) -> None:
    src = tmp_path / "gold.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["prompt", "response", "label", "lang"])
        for t in REFUSALS:
            w.writerow([_ask(t), t, "refusal", _lang(t)])
        for t in COMPLIANCES:
            w.writerow([_ask(t), t, "compliance", _lang(t)])
    text = CliRunner().invoke(cli, ["classify", "--evaluate", str(src)]).output
    assert "macroF1" in text and "zh" in text and "confusion" in text
    data = json.loads(CliRunner().invoke(cli, ["classify", "--evaluate", str(src), "--json"]).output)
    assert data["overall"]["f1"] == 1.0 and set(data["by_lang"]) == {"en", "zh"}


def test_evaluate_needs_a_label_column(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    src.write_text("prompt,response\na,b\n")
    result = CliRunner().invoke(cli, ["classify", "--evaluate", str(src)])
    assert result.exit_code == 2 and "missing column(s) label" in result.output


def test_datasheet_counts_match_the_files() -> None:
    """Each file the datasheet gives a row count for has that many rows, and the label totals match."""
    folder = resources.files("analysis").joinpath("training")
    sheet = folder.joinpath("DATASHEET.md").read_text("utf-8")
    listed = re.findall(r"^\| `([\w.]+\.jsonl)` \| ([\d,]+) \|", sheet, re.MULTILINE)
    assert len(listed) >= 8
    for name, count in listed:
        lines = [ln for ln in folder.joinpath(name).read_text("utf-8").splitlines() if ln.strip()]
        assert len(lines) == int(count.replace(",", "")), name
    totals = Counter(r["label"] for r in training_rows())
    stated = re.search(r"([\d,]+) rows: ([\d,]+) compliance, ([\d,]+) refusal, ([\d,]+) deflection", sheet)
    assert stated is not None
    numbers = [int(x.replace(",", "")) for x in stated.groups()]
    assert numbers == [sum(totals.values()), totals["compliance"], totals["refusal"], totals["deflection"]]
