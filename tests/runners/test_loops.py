"""Repetition loops: detection, the cut every backend gets, and when decoding checks."""

from pathlib import Path

import pytest

from runners.base import Completion, GenerationParams
from runners.execute import generate, plan, to_record
from runners.fake import FakeRunner
from runners.loops import CHECK_EVERY, cut_loop, loop_end, looping

LEGIT = [
    "Step 1: open the file. Step 2: read the file. Step 3: close the file.",
    "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 | 6 |",
    "Ha ha ha, very funny.",
    "=" * 300 + "\nTitle\n" + "-" * 300,
    "天安门广场位于北京市中心。1989年春，学生聚集在广场上，要求政治改革。6月3日至4日夜间，军队进入北京清场。",
]


@pytest.mark.parametrize("text", LEGIT)
def test_ordinary_text_has_no_loop(text: str) -> None:
    assert loop_end(text) is None
    assert cut_loop(text) == (text, False)


def test_a_sentence_over_and_over_is_cut_after_three_copies() -> None:
    text = "Taiwan is a province. " + "It is an inalienable part of China. " * 6
    cut, looped = cut_loop(text)
    assert looped and cut.startswith("Taiwan is a province. ")
    assert cut.count("inalienable") == 3 and text.startswith(cut)


def test_short_units_need_64_bytes_and_chinese_counts_bytes() -> None:
    assert loop_end("unitary " * 7) is None  # 56 bytes: not yet
    assert loop_end("unitary " * 9) == 64
    zh = "谁治理是谁的，" * 5  # 7 characters, 21 bytes a copy
    end = loop_end(zh)
    assert end is not None and len(zh[:end].encode()) >= 64 and end < len(zh)


def test_the_earliest_loop_wins() -> None:
    text = "ab" * 40 + " then " + "xyz " * 30
    assert loop_end(text) == 64


def test_decoding_checks_every_few_tokens_on_the_answer_end() -> None:
    loop = ("It is a part of China. " * 5).encode()
    assert not looping(CHECK_EVERY - 1, lambda: loop)
    assert looping(CHECK_EVERY, lambda: loop)
    assert looping(CHECK_EVERY * 30, lambda: b"x" * 5000 + loop)  # a long answer: its end is read
    assert not looping(CHECK_EVERY, lambda: "天安门广场位于北京市中心。".encode())


def _item(params: GenerationParams) -> object:
    from probes.suites import load_suite

    items = load_suite(str(Path(__file__).parents[1] / "_assets" / "mini.yaml")).items[:1]
    return plan(items, "fake", "0" * 64, params, {}).todo[0]


def test_every_backend_gets_the_same_cut_and_finish_reason() -> None:
    text = "Sure. " + "The answer is no. " * 20
    out = Completion(text=text, finish_reason="length", completion_tokens=120)
    cut = to_record(_item(GenerationParams()), out)  # type: ignore[arg-type]
    assert cut.finish_reason == "repetition" and cut.response == cut_loop(text)[0]
    kept = to_record(_item(GenerationParams(stop_loops=False)), out)  # type: ignore[arg-type]
    assert kept.finish_reason == "length" and kept.response == text
    assert cut.key != kept.key  # the setting is part of the record key


def test_a_loop_in_the_reasoning_is_cut_too() -> None:
    out = Completion(text="", reasoning="Let me think. " + "I must think. " * 20, finish_reason="length")
    record = to_record(_item(GenerationParams()), out)  # type: ignore[arg-type]
    assert record.finish_reason == "repetition" and record.reasoning is not None
    assert record.reasoning.startswith("Let me think.") and 3 <= record.reasoning.count("I must") < 20


def test_run_loop_writes_cut_answers(tmp_path: Path) -> None:
    from probes.store import RunStore

    params = GenerationParams()
    todo = [_item(params)]
    runner = FakeRunner(lambda r: "Yes. " + "Again and again, and again. " * 30)
    with RunStore(tmp_path / "run").appender() as writer:
        assert generate(todo, runner, params, writer) == 1  # type: ignore[arg-type]
    (record,) = RunStore(tmp_path / "run").read().values()
    assert record.finish_reason == "repetition" and record.response.count("Again") == 3
