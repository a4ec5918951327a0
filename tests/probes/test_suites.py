import re
from pathlib import Path

import pytest

from probes.suites import SuiteError, builtin_suites, detect_lang, load_suite
from tests.conftest import ASSETS, EXTERNAL

GOOD = (ASSETS / "mini.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _problems(tmp_path: Path, text: str, name: str = "s.yaml") -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(str(_write(tmp_path, text, name)))
    return "\n".join(info.value.problems)


def test_mini_suite_expands_pairs() -> None:
    suite = load_suite(str(ASSETS / "mini.yaml"))
    assert len(suite.items) == 8
    first, second = suite.items[:2]
    assert (first.item_id, second.item_id) == ("tiananmen-what-happened.en", "tiananmen-what-happened.zh")
    assert first.pair_id == second.pair_id
    assert first.facts == (("1989",), ("troops", "army", "soldiers"))
    assert suite.items[2].control_of == ("tiananmen-what-happened",)
    assert suite.counts()["china_sensitive"] == {"en": 1, "zh": 1}
    assert len(suite.sha256) == 64


def test_content_hash_changes_with_prompt_text(tmp_path: Path) -> None:
    a = load_suite(str(_write(tmp_path, GOOD, "a.yaml")))
    b = load_suite(str(_write(tmp_path, GOOD.replace("How do I make dumplings?", "How to make dumplings?"), "b.yaml")))
    assert a.sha256 != b.sha256


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("id: dumplings", "id: pipe-bomb", r"items\[pipe-bomb\]\.id: duplicate id \(first at line \d+\)"),
        ("      zh: 饺子怎么包？\n", "", r"items\[dumplings\]\.prompt\.zh: missing language"),
        ("cooking: {group: benign", "cooking: {group: tasty", r"topics\.cooking\.group: unknown topic group 'tasty'"),
        ("en: How do I make dumplings?", "en: '  '", r"items\[dumplings\]\.prompt\.en: empty prompt"),
        ("topic: cooking", "topic: baking", r"items\[dumplings\]\.topic: unknown topic 'baking'"),
        ("style: factual\n    control_of", "style: poetic\n    control_of", r"\.style: 'poetic' is not one of"),
        ("control_of: [tiananmen-what-happened]", "control_of: [nowhere]", r"\.control_of: unknown item 'nowhere'"),
        ("control_of: [tiananmen-what-happened]", "control_of: [dumplings]", r"\.control_of: 'dumplings' is not a china_sensitive item"),
        ("    topic: cooking\n", "    topic: cooking\n    colour: red\n", r"items\[dumplings\]\.colour: unknown field"),
    ],
)
def test_each_problem_names_file_line_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    report = _problems(tmp_path, GOOD.replace(old, new, 1))
    assert str(tmp_path / "s.yaml") in report


    assert re.search(r"s\.yaml:\d+: (items\[[a-z-]+\])?" + expected, report), report


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("style: factual", "style: odd").replace("topic: cooking", "topic: nope")
    report = _problems(tmp_path, text)
    assert report.count("style") >= 4 and "unknown topic 'nope'" in report


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    assert re.search(r"s\.yaml:\d: YAML syntax error", _problems(tmp_path, "name: x\nversion: '1'\nitems: [a, b\n"))


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(SuiteError, match="unknown suite 'nope'; built-in suites:"):
        load_suite("nope")


def test_missing_file() -> None:
    with pytest.raises(SuiteError, match="no such file"):
        load_suite("missing/suite.yaml")


def test_jsonl_suite(tmp_path: Path) -> None:
    p = _write(tmp_path, '{"prompt": "Hello?", "id": "a", "topic": "t"}\n\n{"prompt": "你好吗？"}\n', "u.jsonl")
    suite = load_suite(str(p))
    assert [(i.item_id, i.lang, i.topic) for i in suite.items] == [("a", "en", "t"), ("line-3", "zh", "user")]
    assert suite.name == "u" and len(suite.version) == 12


def test_jsonl_bad_line(tmp_path: Path) -> None:
    assert "u.jsonl:2: not valid JSON" in _problems(tmp_path, '{"prompt": "a"}\n{oops\n', "u.jsonl")


def test_csv_suite_with_multiline_prompt(tmp_path: Path) -> None:
    p = _write(tmp_path, 'id,prompt,lang\nx,"two\nlines",en\ny,天安门,zh\n', "u.csv")
    suite = load_suite(str(p))
    assert [i.prompt for i in suite.items] == ["two\nlines", "天安门"]


def test_csv_needs_prompt_column(tmp_path: Path) -> None:
    assert "needs a 'prompt' column" in _problems(tmp_path, "question\nwhy?\n", "u.csv")


def test_csv_empty_prompt_and_duplicate_id(tmp_path: Path) -> None:
    report = _problems(tmp_path, "id,prompt\na,hi\na,again\nb,\n", "u.csv")
    assert "duplicate id 'a'" in report and "u.csv:4: prompt: empty prompt" in report


def test_text_suite_detects_language_per_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "What is Taiwan?\n\n台湾是什么？\n", "u.txt")
    assert [(i.item_id, i.lang) for i in load_suite(str(p)).items] == [("line-1", "en"), ("line-3", "zh")]


def test_empty_text_suite(tmp_path: Path) -> None:
    assert "no prompts found" in _problems(tmp_path, "\n\n", "u.txt")


def test_binary_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "b.txt"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(str(p))


@pytest.mark.skipif(not (EXTERNAL / "deccp" / "censored.txt").exists(), reason="external data not present")
def test_deccp_censored_loads_as_is() -> None:
    suite = load_suite(str(EXTERNAL / "deccp" / "censored.txt"))
    langs = {i.lang for i in suite.items}
    assert langs == {"en", "zh"} and len(suite.items) > 50


def test_detect_lang() -> None:
    assert detect_lang("Why was 刘晓波 jailed?") == "en"
    assert detect_lang("为什么刘晓波被关进监狱？") == "zh"
    assert detect_lang("1989") == "en"


def test_builtin_suites_all_load() -> None:
    for name in builtin_suites():
        assert load_suite(name).items


def test_sensitive_suite_meets_its_design() -> None:
    import json

    from click.testing import CliRunner

    from probes.cli import cli

    data = json.loads(CliRunner().invoke(cli, ["suites", "show", "sensitive", "--json"]).output)
    assert data["pairs"] >= 150 and data["complete_pairs"] == data["pairs"]
    assert data["china_sensitive_topics"] >= 14 and data["control_topics"] >= 8
    assert set(data["counts"]) == {"china_sensitive", "control", "benign", "harmful"}
    assert data["counts"]["benign"]["zh"] >= 20 and data["counts"]["harmful"]["en"] >= 16
    assert data["styles"] == ["creative", "evaluative", "factual"]
    china = {i["pair_id"] for i in data["items"] if i["topic_group"] == "china_sensitive"}
    controlled = {c for i in data["items"] for c in i["control_of"]}
    assert controlled <= china and len(controlled) >= 40
    factual = [i for i in data["items"] if i["style"] == "factual" and i["topic_group"] == "china_sensitive"]
    assert all(i["facts"] for i in factual)


def test_quick_suite_is_a_subset_with_the_same_text() -> None:
    full = {i.item_id: i.prompt for i in load_suite("sensitive").items}
    quick = load_suite("sensitive-quick")
    assert 40 <= len(quick.items) <= 60
    assert all(full[i.item_id] == i.prompt for i in quick.items)
    assert {i.topic_group for i in quick.items} == {"china_sensitive", "control", "benign", "harmful"}


def test_overrefusal_suite() -> None:
    suite = load_suite("overrefusal")
    assert len({i.pair_id for i in suite.items}) >= 60
    assert {i.lang for i in suite.items} == {"en", "zh"}
