from dataclasses import replace

import pytest

from probes.record import SCHEMA_VERSION, Label, ProbeRecord, make_key


def _record(**kw: object) -> ProbeRecord:
    base = ProbeRecord(key="k", suite="s", suite_version="1", item_id="a.en", pair_id="a", lang="en",
                       topic="t", topic_group="benign", style="factual", prompt="p")
    return replace(base, **kw)


def test_round_trip_keeps_every_field() -> None:
    import json

    r = _record(control_of=("x",), facts=(("1989", "六四"),), narrative=("稳定",), response="答",
                labels={"kw@1": Label("refusal", {"refusal": 0.9}, ("truncated",), "kw@1")})
    assert ProbeRecord.from_dict(json.loads(r.to_json())) == r


def test_newer_schema_is_refused() -> None:
    data = {"schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(ValueError, match="newer"):
        ProbeRecord.from_dict(data)


def test_key_depends_on_model_params_and_item() -> None:
    p = {"temperature": 0.0, "max_tokens": 8}
    k = make_key("s", "1", "a.en", "sha", p)
    assert k == make_key("s", "1", "a.en", "sha", dict(reversed(list(p.items()))))
    assert k != make_key("s", "1", "a.zh", "sha", p)
    assert k != make_key("s", "1", "a.en", "sha2", p)
    assert k != make_key("s", "2", "a.en", "sha", p)
    assert k != make_key("s", "1", "a.en", "sha", {**p, "max_tokens": 9})


def test_sample_index_only_matters_when_sampling() -> None:
    greedy = {"temperature": 0.0}
    assert make_key("s", "1", "a", "m", greedy, 0) == make_key("s", "1", "a", "m", greedy, 3)
    hot = {"temperature": 0.7}
    assert make_key("s", "1", "a", "m", hot, 0) != make_key("s", "1", "a", "m", hot, 1)
