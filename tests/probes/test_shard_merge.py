from pathlib import Path

from click.testing import CliRunner

from probes.cli import cli
from probes.store import RunStore
from probes.suites import load_suite


def _run(*args: str) -> None:
    result = CliRunner().invoke(cli, ["run", "-m", "fake/echo", "-c", "keyword", "--no-report", *args])
    assert result.exit_code == 0, result.output


def test_shards_partition_the_suite_and_keep_pairs_together(mini_suite: Path) -> None:
    suite = load_suite(str(mini_suite))
    shards = [suite.shard(suite.items, k, 3) for k in (1, 2, 3)]
    ids = [i.item_id for s in shards for i in s]
    assert sorted(ids) == sorted(i.item_id for i in suite.items)
    for s in shards:
        pairs = [i.pair_id for i in s]
        assert all(pairs.count(p) == 2 for p in pairs)


def test_merged_shards_equal_an_unsharded_run(mini_suite: Path, tmp_path: Path) -> None:
    for k in (1, 2):
        _run("-s", str(mini_suite), "--shard", f"{k}/2", "--out", str(tmp_path / f"s{k}"))
    _run("-s", str(mini_suite), "--out", str(tmp_path / "whole"))
    result = CliRunner().invoke(cli, ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), str(tmp_path / "s1"),
                                      "-o", str(tmp_path / "merged")])
    assert result.exit_code == 0, result.output
    merged = RunStore(tmp_path / "merged").read()
    assert set(merged) == set(RunStore(tmp_path / "whole").read())
    lines = (tmp_path / "merged" / "records.jsonl").read_text().splitlines()
    assert len(lines) == len(merged)
    assert (tmp_path / "merged" / "report.html").exists()


def test_merge_refuses_incompatible_runs(mini_suite: Path, tmp_path: Path) -> None:
    _run("-s", str(mini_suite), "--out", str(tmp_path / "a"))
    _run("-s", str(mini_suite), "--out", str(tmp_path / "b"), "--max-tokens", "7")
    result = CliRunner().invoke(cli, ["merge", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "different params" in result.output
    result = CliRunner().invoke(cli, ["merge", str(tmp_path / "a"), "-o", str(tmp_path / "a")])
    assert result.exit_code == 2 and "already holds a run" in result.output


def test_bad_shard_spec(mini_suite: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "-s", str(mini_suite), "-m", "fake/echo", "--shard", "3/2"])
    assert result.exit_code == 2 and "K/N" in result.output
