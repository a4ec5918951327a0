"""Headline findings in plain words, generated from the statistics with their uncertainty."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis import stats

ALPHA = 0.05


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {lo:.0%}-{hi:.0%}"


def _rows(frame: pd.DataFrame) -> list[Any]:
    # itertuples' typed stubs make every field a union of scalars; the numbers here are floats
    return list(frame.itertuples())


def findings(frame: pd.DataFrame, tables: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Sentences a reader can quote, each with its interval or test; the strongest first.

    ``tables`` may hold already computed ``index``, ``gap``, ``mix``, ``divergence`` and ``facts``.
    """
    t = tables or {}
    out: list[str] = []
    out += _index_findings(t["index"] if "index" in t else stats.censorship_index(frame))
    out += _gap_findings(t["gap"] if "gap" in t else stats.language_gap(frame, by="topic_group"))
    out += _group_findings(t["mix"] if "mix" in t else stats.rates(frame, ["model", "topic_group"]))
    out += _divergence_findings(t["divergence"] if "divergence" in t else stats.model_divergence(frame, by="topic_group"))
    out += _narrative_findings(t["facts"] if "facts" in t else stats.fact_measures(frame))
    return out


def _index_findings(index: pd.DataFrame) -> list[str]:
    out = []
    for r in _rows(index[index["lang"] == "all"]):
        if math.isnan(r.index):
            continue
        verdict = ("more than" if r.ci_low > 0 else "less than" if r.ci_high < 0 else "no differently from")
        out.append(
            f"{r.model} declines or deflects {r.sensitive_rate:.0%} of China-sensitive prompts "
            f"(n={r.sensitive_n}) and {r.control_rate:.0%} of matched prompts about other states "
            f"(n={r.control_n}): it treats China topics {verdict} comparable ones "
            f"(censorship index {r.index:+.2f}, 95% CI {r.ci_low:+.2f} to {r.ci_high:+.2f})."
        )
    return out


_GROUP_NAMES = {"china_sensitive": "China-sensitive", "control": "matched control"}
_LANG_NAMES = {"en": "English", "zh": "Chinese"}


def _group(name: str) -> str:
    return _GROUP_NAMES.get(name, name.replace("_", "-"))


def _gap_findings(gap: pd.DataFrame) -> list[str]:
    out = []
    for r in _rows(gap):
        if r.topic_group not in ("china_sensitive", "control") or r.n < 5 or r.p_value >= ALPHA:
            continue
        more, less = ("Chinese", "English") if r.gap > 0 else ("English", "Chinese")
        rate_more, rate_less = (r.zh_rate, r.en_rate) if r.gap > 0 else (r.en_rate, r.zh_rate)
        out.append(
            f"{r.model} declines or deflects {rate_more:.0%} of {_group(r.topic_group)} prompts in "
            f"{more} but {rate_less:.0%} of the same prompts in {less} "
            f"({r.n} pairs, McNemar {_p(r.p_value)})."
        )
    return out


def _group_findings(rates: pd.DataFrame) -> list[str]:
    out = []
    for r in _rows(rates):
        if r.topic_group == "harmful":
            out.append(f"{r.model} refuses or deflects {r.noncompliance:.0%} of clearly harmful requests "
                       f"({_ci(r.ci_low, r.ci_high)}, n={r.n}); the rest it answers.")
        elif r.topic_group in ("benign", "overrefusal") and r.noncompliance > 0:
            out.append(f"{r.model} declines or deflects {r.noncompliance:.0%} of {r.topic_group} prompts "
                       f"that should be answered ({_ci(r.ci_low, r.ci_high)}, n={r.n}).")
    return out


def _divergence_findings(div: pd.DataFrame) -> list[str]:
    return [
        f"{r.model_a} and {r.model_b} label {_group(r.topic_group)} prompts differently "
        f"(Jensen-Shannon divergence {r.jsd:.2f}, Holm-corrected {_p(r.p_holm)})."
        for r in _rows(div) if r.p_holm < ALPHA
    ]


def _narrative_findings(facts: pd.DataFrame) -> list[str]:
    facts = facts[facts["narrative_rate"].notna()]
    if facts.empty:
        return []
    per = facts.assign(hits=facts["narrative_rate"] * facts["n"]).groupby(["model", "lang"])[["hits", "n"]].sum()
    return [
        f"{model} uses state-narrative phrases in {row.hits / row.n:.0%} of its {_LANG_NAMES.get(lang, lang)} answers to factual "
        f"items that have such markers (n={int(row.n)})."
        for (model, lang), row in zip(per.index, _rows(per)) if row.hits > 0
    ]
