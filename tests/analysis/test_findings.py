from analysis import to_frame
from analysis.findings import findings
from tests.analysis.test_stats import _rows


def test_language_gap_and_index_become_sentences() -> None:
    rows = (_rows("qwen", "china_sensitive", "en", "r" * 18 + "c" * 2, topic="tam")
            + _rows("qwen", "china_sensitive", "zh", "c" * 18 + "r" * 2, topic="tam")
            + _rows("qwen", "control", "en", "c" * 20, topic="kent", control_of=tuple(f"tam{i}" for i in range(20)))
            + _rows("qwen", "control", "zh", "c" * 20, topic="kent", control_of=tuple(f"tam{i}" for i in range(20))))
    text = "\n".join(findings(to_frame(rows)))
    assert "qwen declines or deflects 90% of China-sensitive prompts in English but 10% of the same prompts in Chinese" in text
    assert "McNemar p<0.001" in text
    assert "treats China topics more than comparable ones" in text


def test_no_difference_gives_no_gap_sentence() -> None:
    rows = _rows("m", "china_sensitive", "en", "rc" * 5, topic="t") + _rows("m", "china_sensitive", "zh", "rc" * 5, topic="t")
    assert not [f for f in findings(to_frame(rows)) if "McNemar" in f]
