"""Divergence statistics on the ``to_frame`` table: rates, censorship index, language gap,
model divergence, fact coverage. Intervals and tests come from statsmodels and scipy.

Non-compliance (refusal or deflection) is the outcome throughout; rows whose generation failed
or that have no label are left out.
"""

from __future__ import annotations

from itertools import combinations
from math import sqrt

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, fisher_exact, norm
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from probes.record import LABELS

Z95 = float(norm.ppf(0.975))


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a label and no generation error, with a boolean ``noncompliant`` column."""
    out = frame[frame["label"].notna() & frame["error"].isna()].copy()
    out["noncompliant"] = out["label"] != "compliance"
    return out


def wilson(count: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval for ``count`` successes out of ``n`` (NaNs when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(count, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def rates(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts and rates of each label per group, with Wilson intervals for non-compliance."""
    df = labelled(frame)
    if df.empty:
        return pd.DataFrame(columns=[*by, "n", *LABELS, "noncompliance", "ci_low", "ci_high"])
    counts = df.groupby(by + ["label"]).size().unstack("label", fill_value=0)
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    counts["n"] = counts.sum(axis=1)
    out = counts.reset_index()
    nc = out["refusal"] + out["deflection"]
    out["noncompliance"] = nc / out["n"]
    for label in LABELS:
        out[f"{label}_rate"] = out[label] / out["n"]
    ci = [wilson(int(c), int(n)) for c, n in zip(nc, out["n"])]
    out["ci_low"] = [c[0] for c in ci]
    out["ci_high"] = [c[1] for c in ci]
    return out


def censorship_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (and language): non-compliance on China-sensitive items that have a matched
    control, minus non-compliance on those controls, with Newcombe's 95% interval."""
    df = labelled(frame)
    controls = df[df["topic_group"] == "control"]
    matched = {p for targets in controls["control_of"] if isinstance(targets, (list, tuple)) for p in targets}
    china = df[(df["topic_group"] == "china_sensitive") & df["pair_id"].isin(matched)]
    rows = []
    for (model, lang), _ in df.groupby(["model", "lang"]):
        rows.append(_index_row(str(model), str(lang), china, controls))
    for model in df["model"].unique():
        rows.append(_index_row(model, "all", china, controls))
    return pd.DataFrame(
        rows, columns=["model", "lang", "sensitive_n", "sensitive_rate", "control_n", "control_rate",
                       "index", "ci_low", "ci_high"]
    )


def _index_row(model: str, lang: str, china: pd.DataFrame, controls: pd.DataFrame) -> dict[str, object]:
    sel = (lambda d: d[d["model"] == model]) if lang == "all" else (
        lambda d: d[(d["model"] == model) & (d["lang"] == lang)]
    )
    a, b = sel(china), sel(controls)
    n1, n2 = len(a), len(b)
    c1, c2 = int(a["noncompliant"].sum()), int(b["noncompliant"].sum())
    if n1 == 0 or n2 == 0:
        return {"model": model, "lang": lang, "sensitive_n": n1, "sensitive_rate": np.nan,
                "control_n": n2, "control_rate": np.nan, "index": np.nan, "ci_low": np.nan,
                "ci_high": np.nan}
    lo, hi = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff")
    return {"model": model, "lang": lang, "sensitive_n": n1, "sensitive_rate": c1 / n1,
            "control_n": n2, "control_rate": c2 / n2, "index": c1 / n1 - c2 / n2,
            "ci_low": float(lo), "ci_high": float(hi)}


def paired_gap(nc_a: pd.Series, nc_b: pd.Series) -> dict[str, float]:
    """Difference b - a of paired binary outcomes, Agresti-Min interval, exact McNemar p-value.

    The interval is the Wald interval after adding 1/2 to each cell of the paired table (Agresti
    and Min 2005), which keeps its coverage when every pair is discordant or none is.
    """
    a, b = nc_a.astype(bool).to_numpy(), nc_b.astype(bool).to_numpy()
    n = len(a)
    if n == 0:
        return {"n": 0, "gap": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    only_b, only_a = int((b & ~a).sum()), int((a & ~b).sum())
    gap = (only_b - only_a) / n
    b_adj, a_adj, n_adj = only_b + 0.5, only_a + 0.5, n + 2
    centre = (b_adj - a_adj) / n_adj
    se = sqrt(max(b_adj + a_adj - (b_adj - a_adj) ** 2 / n_adj, 0.0)) / n_adj
    table = [[int((a & b).sum()), only_a], [only_b, int((~a & ~b).sum())]]
    p = float(mcnemar(table, exact=True).pvalue) if only_a + only_b else 1.0
    return {"n": n, "gap": gap, "ci_low": max(-1.0, centre - Z95 * se),
            "ci_high": min(1.0, centre + Z95 * se), "p_value": p}


def language_gap(frame: pd.DataFrame, by: str = "topic") -> pd.DataFrame:
    """Per model and ``by`` group: Chinese minus English non-compliance on paired items."""
    df = labelled(frame)
    wide = df.pivot_table(
        index=["model", by, "pair_id", "sample_index"], columns="lang", values="noncompliant", aggfunc="first"
    )
    if "en" not in wide.columns or "zh" not in wide.columns:
        return pd.DataFrame(columns=["model", by, "n", "en_rate", "zh_rate", "gap", "ci_low", "ci_high", "p_value"])
    wide = wide.dropna(subset=["en", "zh"]).reset_index()
    rows = []
    for (model, group), part in wide.groupby(["model", by]):
        stats = paired_gap(part["en"], part["zh"])
        rows.append({"model": model, by: group, "en_rate": part["en"].astype(bool).mean(),
                     "zh_rate": part["zh"].astype(bool).mean(), **stats})
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out[["model", by, "n", "en_rate", "zh_rate", "gap", "ci_low", "ci_high", "p_value"]]
    return out


def model_divergence(frame: pd.DataFrame, by: str = "topic") -> pd.DataFrame:
    """For every pair of models and each ``by`` group: Jensen-Shannon divergence of the label
    distributions and a test of independence, Holm-corrected across groups per model pair."""
    df = labelled(frame)
    rows = []
    counts = pd.crosstab([df["model"], df[by]], df["label"]).reindex(columns=list(LABELS), fill_value=0)
    for m1, m2 in combinations(sorted(df["model"].unique()), 2):
        pair_rows = []
        for group in sorted(set(df.loc[df["model"].isin([m1, m2]), by])):
            table = np.array([counts.loc[(m, group)].to_numpy() if (m, group) in counts.index else np.zeros(3, int)
                              for m in (m1, m2)])
            if (table.sum(axis=1) == 0).any():
                continue
            p1, p2 = table[0] / table[0].sum(), table[1] / table[1].sum()
            pair_rows.append({"model_a": m1, "model_b": m2, by: group, "n_a": int(table[0].sum()),
                              "n_b": int(table[1].sum()), "jsd": float(jensenshannon(p1, p2, base=2) ** 2),
                              "p_value": _independence_p(table)})
        if pair_rows:
            adjusted = holm([r["p_value"] for r in pair_rows])
            for r, p in zip(pair_rows, adjusted):
                r["p_holm"] = float(p)
        rows += pair_rows
    return pd.DataFrame(rows, columns=["model_a", "model_b", by, "n_a", "n_b", "jsd", "p_value", "p_holm"])


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, equal to statsmodels' ``multipletests(method="holm")`` (tested).

    Written out because statsmodels runs a full garbage collection on every call, which costs
    half a second per call once a large record table is in memory.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _independence_p(table: np.ndarray) -> float:
    """Chi-square when every expected count is at least 5, else Fisher's exact test on
    complied vs not (a 2x2 table)."""
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    chi2, p, _, expected = chi2_contingency(table)
    if (expected >= 5).all():
        return float(p)
    binary = np.column_stack([table[:, 0], table[:, 1:].sum(axis=1)]) if table.shape[1] > 2 else table
    return float(fisher_exact(binary)[1])


def fact_measures(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean fact coverage and state-narrative marker rate per model, topic and language."""
    df = labelled(frame)
    df = df[df["fact_coverage"].notna() | df["narrative"].notna()]
    if df.empty:
        return pd.DataFrame(columns=["model", "topic", "lang", "n", "fact_coverage", "narrative_rate"])
    df = df.assign(narrative=df["narrative"].astype(float), fact_coverage=df["fact_coverage"].astype(float))
    out = df.groupby(["model", "topic", "lang"]).agg(
        n=("key", "size"), fact_coverage=("fact_coverage", "mean"), narrative_rate=("narrative", "mean")
    )
    return out.reset_index()
