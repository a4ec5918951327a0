import os
from dataclasses import replace
from pathlib import Path

import pytest

from probes.record import ProbeRecord
from probes.store import RunStore, StoreError, atomic_write, read_records


def _rec(i: int) -> ProbeRecord:
    return ProbeRecord(key=f"k{i}", suite="s", suite_version="1", item_id=f"i{i}.en", pair_id=f"i{i}",
                       lang="en", topic="t", topic_group="benign", style="factual", prompt=f"p{i}",
                       response=f"r{i}")


def test_last_line_wins(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with store.appender() as w:
        w.write(_rec(1))
        w.write(replace(_rec(1), response="again"))
    assert store.read()["k1"].response == "again"


def test_truncated_last_line_is_skipped_then_cut_on_append(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with store.appender() as w:
        w.write_all(_rec(i) for i in range(3))
    whole = store.records_path.read_bytes()
    store.records_path.write_bytes(whole + _rec(3).to_json().encode()[:40])
    with pytest.warns(UserWarning, match="truncated last line"):
        result = read_records(store.records_path)
    assert sorted(result.records) == ["k0", "k1", "k2"] and result.skipped == 1
    with pytest.warns(UserWarning, match="dropping a truncated last line"), store.appender() as w:
        w.write(_rec(3))
    assert store.records_path.read_bytes() == whole + _rec(3).to_json().encode()
    assert sorted(store.read()) == ["k0", "k1", "k2", "k3"]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.records_path.write_text(_rec(0).to_json().rstrip("\n"))
    with store.appender() as w:
        w.write(_rec(1))
    assert sorted(store.read()) == ["k0", "k1"]


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "records.jsonl"
    p.write_text(_rec(0).to_json() + "{not json\n" + _rec(1).to_json())
    with pytest.raises(StoreError, match=r"records.jsonl:2: corrupt record"):
        read_records(p)


def test_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    (tmp_path / "records.jsonl").symlink_to("/dev/full")
    with pytest.raises(StoreError, match="disk full"), RunStore(tmp_path).appender() as w:
        w.write(_rec(0))


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "run.json"
    atomic_write(p, "{}\n")
    atomic_write(p, '{"a": 1}\n')
    assert p.read_text() == '{"a": 1}\n'
    assert [f.name for f in tmp_path.iterdir()] == ["run.json"]


def test_read_meta_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a run folder"):
        RunStore(tmp_path).read_meta()
    (tmp_path / "run.json").write_text("[1,")
    with pytest.raises(StoreError, match="unreadable"):
        RunStore(tmp_path).read_meta()


def test_unwritable_folder(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    tmp_path.chmod(0o500)
    with pytest.raises(StoreError, match="cannot write"):
        atomic_write(tmp_path / "run.json", "{}")


def test_each_sample_of_a_prompt_gets_its_own_seed(tmp_path: Path) -> None:
    from probes.suites import load_suite
    from runners.base import GenerationParams
    from runners.execute import generate, plan
    from runners.fake import FakeRunner

    items = load_suite(str(Path(__file__).parents[1] / "_assets" / "mini.yaml")).items[:2]
    params = GenerationParams(temperature=0.7, seed=10)
    todo = plan(items, "fake", "0" * 64, params, {}, samples=3).todo
    runner = FakeRunner(lambda r: f"seed {r.params.seed}")
    with RunStore(tmp_path / "run").appender() as writer:
        assert generate(todo, runner, params, writer) == 6
    assert sorted(r.params.seed for r in runner.calls) == [10, 10, 11, 11, 12, 12]
