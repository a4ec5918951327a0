"""Statistics against published or hand-computed values."""

from dataclasses import replace

import pandas as pd
import pytest

from analysis import stats, to_frame
from probes.record import LABELS, Label, ProbeRecord


def test_wilson_matches_published_interval() -> None:
    lo, hi = stats.wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


def _rows(model: str, group: str, lang: str, labels: str, topic: str = "t", start: int = 0,
          control_of: tuple[str, ...] = ()) -> list[ProbeRecord]:
    names = {"c": "compliance", "r": "refusal", "d": "deflection"}
    out = []
    for i, ch in enumerate(labels, start=start):
        lab = names[ch]
        out.append(ProbeRecord(
            key=f"{model}-{group}-{lang}-{topic}-{i}", suite="s", suite_version="1", item_id=f"{topic}{i}.{lang}",
            pair_id=f"{topic}{i}", lang=lang, topic=topic, topic_group=group, style="factual", prompt="p",
            model=model, response="x", control_of=control_of,
            labels={"k@1": Label(lab, {k: float(k == lab) for k in LABELS}, (), "k@1")}))
    return out


def test_rates_count_labels_and_interval() -> None:
    frame = to_frame(_rows("m", "benign", "en", "ccccccrrdd"))
    r = stats.rates(frame, ["model", "lang"]).iloc[0]
    assert (r.n, r.compliance, r.refusal, r.deflection) == (10, 6, 2, 2)
    assert r.noncompliance == pytest.approx(0.4)
    assert (r.ci_low, r.ci_high) == pytest.approx(stats.wilson(4, 10))


def test_censorship_index_uses_newcombe_interval() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> difference 0.2, 95% CI 0.0524 to 0.3339.
    china = _rows("m", "china_sensitive", "en", "r" * 56 + "c" * 14, topic="tam")
    controls = _rows("m", "control", "en", "r" * 48 + "c" * 32, topic="kent", control_of=("tam0",))
    frame = to_frame(china + controls)
    # only China items named by a control count; make every China item matched
    frame["control_of"] = [[f"tam{i}" for i in range(70)] if g == "control" else []
                           for g in frame["topic_group"]]
    row = stats.censorship_index(frame).query("lang == 'all'").iloc[0]
    assert row["index"] == pytest.approx(0.2)
    assert (row.ci_low, row.ci_high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_unmatched_china_items_are_left_out_of_the_index() -> None:
    frame = to_frame(_rows("m", "china_sensitive", "en", "rr", topic="tam")
                     + _rows("m", "china_sensitive", "en", "cc", topic="xj")
                     + _rows("m", "control", "en", "cc", topic="kent", control_of=("tam0", "tam1")))
    row = stats.censorship_index(frame).query("lang == 'all'").iloc[0]
    assert row.sensitive_n == 2 and row.sensitive_rate == 1.0 and row["index"] == 1.0


def test_paired_gap_and_exact_mcnemar() -> None:
    # 10 pairs: 9 refused only in English, 1 only in Chinese -> exact p = 2 * 11/1024
    en = pd.Series([True] * 9 + [False])
    zh = pd.Series([False] * 9 + [True])
    g = stats.paired_gap(en, zh)
    assert g["gap"] == pytest.approx(-0.8)
    assert g["p_value"] == pytest.approx(22 / 1024)
    assert g["ci_low"] < -0.8 < g["ci_high"]


def test_language_gap_pairs_by_item() -> None:
    frame = to_frame(_rows("m", "china_sensitive", "en", "rrrrc") + _rows("m", "china_sensitive", "zh", "ccccc"))
    row = stats.language_gap(frame).iloc[0]
    assert (row.n, row.en_rate, row.zh_rate) == (5, 0.8, 0.0) and row.gap == pytest.approx(-0.8)


def test_model_divergence_identical_and_disjoint() -> None:
    same = to_frame(_rows("a", "benign", "en", "ccrr", topic="x") + _rows("b", "benign", "en", "ccrr", topic="x"))
    assert stats.model_divergence(same).iloc[0].jsd == pytest.approx(0.0)
    apart = to_frame(_rows("a", "benign", "en", "c" * 20, topic="x") + _rows("b", "benign", "en", "r" * 20, topic="x"))
    row = stats.model_divergence(apart).iloc[0]
    assert row.jsd == pytest.approx(1.0) and row.p_value < 1e-6 and row.p_holm == row.p_value


def test_holm_correction_across_topics() -> None:
    rows = []
    for t in ("x", "y", "z"):
        rows += _rows("a", "benign", "en", "c" * 20, topic=t) + _rows("b", "benign", "en", "r" * 20, topic=t)
    div = stats.model_divergence(to_frame(rows))
    assert len(div) == 3 and (div.p_holm >= div.p_value).all()


def test_errors_and_unlabelled_rows_are_excluded() -> None:
    rows = _rows("m", "benign", "en", "cc")
    rows.append(replace(rows[0], key="err", error="boom", labels={}))
    assert stats.rates(to_frame(rows), ["model"]).iloc[0].n == 2


def test_fact_coverage_and_narrative() -> None:
    r = _rows("m", "china_sensitive", "en", "c")[0]
    r = replace(r, facts=(("1989",), ("troops", "army")), narrative=("turmoil",),
                response="In 1989 the ARMY moved in to end the political turmoil.")
    frame = to_frame([r])
    assert frame.fact_coverage.iloc[0] == 1.0 and frame.narrative.iloc[0]
    m = stats.fact_measures(frame).iloc[0]
    assert m.fact_coverage == 1.0 and m.narrative_rate == 1.0


def test_holm_equals_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    for ps in ([0.01, 0.04, 0.03, 0.5], [0.2], [0.001, 0.001, 0.9, 0.04, 0.6], [1.0, 0.0]):
        assert stats.holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]))
