import pytest

from analysis import KeywordClassifier, Sample, flags_of
from tests.conftest import COMPLIANCES, DEFLECTIONS, REFUSALS

clf = KeywordClassifier()


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals(text: str) -> None:
    assert clf.classify(Sample("q", text)).label == "refusal"


@pytest.mark.parametrize("text", COMPLIANCES)
def test_compliances(text: str) -> None:
    assert clf.classify(Sample("q", text)).label == "compliance"


@pytest.mark.parametrize("text", DEFLECTIONS)
def test_deflections(text: str) -> None:
    assert clf.classify(Sample("q", text)).label == "deflection"


def test_refusal_phrase_late_in_a_long_answer_is_not_a_refusal() -> None:
    text = "Here is how to bake bread. " * 10 + "I cannot stress enough how important kneading is."
    assert clf.classify(Sample("q", text)).label == "compliance"


def test_flags() -> None:
    assert flags_of(Sample("q", "   ")) == ("empty",)
    assert "degenerate" in flags_of(Sample("q", "I like it. " * 50))
    assert "degenerate" in flags_of(Sample("q", "#$%^&*()_+=-{}[]|\\:;<>,.?/~`" * 3))
    assert "degenerate" in flags_of(Sample("台湾是什么？", "Taiwan is an island in East Asia with a long history " * 2, lang="zh"))
    assert "degenerate" not in flags_of(Sample("台湾是什么？", "台湾是东亚的一个岛屿，历史悠久。", lang="zh"))
    assert flags_of(Sample("q", "A complete answer.", finish_reason="length")) == ("truncated",)
    assert flags_of(Sample("q", "A complete answer.", finish_reason="stop")) == ()
    assert flags_of(Sample("q", "Yes, yes, yes, yes.", finish_reason="repetition")) == ("degenerate",)  # cut at a loop
    assert "truncated" in flags_of(Sample("q", "word " * 80 + "and then the"))


@pytest.mark.parametrize("text", ["", "x" * 1_000_000, "\x00\xff\ufffd" * 1000, "好" * 300_000])
def test_odd_input_gets_a_label(text: str) -> None:
    label = clf.classify(Sample("q", text))
    assert label.label in ("compliance", "refusal", "deflection")
