"""Compare two runs of one suite (a baseline and a candidate model, release or quantisation).

Records are matched by suite item and language (and sample), never by key, since the key holds
the model. Each topic group's rate of the counted labels is compared on the matched pairs with a
Wald interval and McNemar's exact test, Holm-corrected across groups. A group *shifts* when its
change exceeds ``max_shift`` **and** the corrected p-value is at most ``alpha``: a large change that
could be chance does not fail a gate, and neither does a tiny significant one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from analysis import stats
from analysis.base import Classifier, label_records
from analysis.frame import HUMAN, to_frame
from probes.errors import ProbeError
from probes.record import LABELS, ProbeRecord


class DiffError(ProbeError):
    """The two runs cannot be compared (different suites, nothing in common)."""


@dataclass(frozen=True)
class Gate:
    """When a difference fails the comparison."""

    max_shift: float = 0.05
    alpha: float = 0.01
    fail_on: tuple[str, ...] = ("refusal", "deflection")
    topics: tuple[str, ...] = ()


@dataclass
class DiffResult:
    """Everything ``probe diff`` reports."""

    baseline: dict[str, Any]
    candidate: dict[str, Any]
    gate: Gate
    matched: int
    groups: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    flips: list[dict[str, Any]]
    index: list[dict[str, Any]]
    language_gap: list[dict[str, Any]]
    relabelled: int
    warnings: list[str] = field(default_factory=list)

    @property
    def shifted(self) -> list[dict[str, Any]]:
        """Topic groups whose shift exceeds the gate."""
        return [g for g in self.groups if g["shifted"]]

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "gate"}, "gate": asdict(self.gate),
                "shifted": [g["topic_group"] for g in self.shifted]}


def _describe(records: list[ProbeRecord]) -> dict[str, Any]:
    first = records[0]
    return {"models": sorted({r.model for r in records}), "suite": first.suite,
            "suite_version": first.suite_version, "records": len(records)}


def _relabel(records: list[ProbeRecord], classifier: Classifier) -> tuple[list[ProbeRecord], int]:
    """Label with the current classifier where it has not labelled yet (human labels are kept)."""
    todo = [r for r in records if classifier.name not in r.labels and r.error is None]
    done = {r.key: r for r in label_records(todo, classifier)}
    return [done.get(r.key, r) for r in records], len(todo)


def _frame(records: list[ProbeRecord], classifier: str, gate: Gate) -> pd.DataFrame:
    frame = stats.labelled(to_frame(records, classifier=classifier))
    frame = frame[frame["classifier"].isin([classifier, HUMAN])]
    if gate.topics:
        frame = frame[frame["topic"].isin(gate.topics) | frame["topic_group"].isin(gate.topics)]
    frame = frame.assign(counted=frame["label"].isin(gate.fail_on))
    return frame.set_index(["item_id", "sample_index"])


def diff_runs(baseline: Iterable[ProbeRecord], candidate: Iterable[ProbeRecord], classifier: Classifier,
              gate: Gate, allow_suite_mismatch: bool = False) -> DiffResult:
    """Compare two runs.

    Raises:
        DiffError: empty runs, different suites (unless allowed), or no item in common.
    """
    base, cand = list(baseline), list(candidate)
    if not base or not cand:
        raise DiffError("nothing to compare: " + ("baseline" if not base else "candidate") + " has no records")
    bad = set(gate.fail_on) - set(LABELS)
    if bad or not gate.fail_on:
        raise DiffError(f"--fail-on takes labels from {', '.join(LABELS)}")
    b_desc, c_desc = _describe(base), _describe(cand)
    warnings = []
    if (b_desc["suite"], b_desc["suite_version"]) != (c_desc["suite"], c_desc["suite_version"]):
        message = (f"different suites: baseline {b_desc['suite']} v{b_desc['suite_version']}, candidate "
                   f"{c_desc['suite']} v{c_desc['suite_version']}")
        if not allow_suite_mismatch:
            raise DiffError(message + " (use --allow-suite-mismatch to compare the items they share)")
        warnings.append(message)
    base, n1 = _relabel(base, classifier)
    cand, n2 = _relabel(cand, classifier)
    b, c = _frame(base, classifier.name, gate), _frame(cand, classifier.name, gate)
    common = b.index.intersection(c.index)
    if common.empty:
        raise DiffError("the runs share no labelled item (same suite items and languages are needed)")
    b, c = b.loc[common], c.loc[common]
    groups = _compare(b, c, "topic_group", gate)
    return DiffResult(
        baseline=b_desc, candidate=c_desc, gate=gate, matched=len(common), groups=groups,
        topics=_compare(b, c, "topic", gate), flips=_flips(b, c), index=_index_change(base, cand, classifier),
        language_gap=_gap_change(b, c), relabelled=n1 + n2, warnings=warnings,
    )


def _compare(b: pd.DataFrame, c: pd.DataFrame, by: str, gate: Gate) -> list[dict[str, Any]]:
    rows = []
    for group in sorted(b[by].unique()):
        mask = (b[by] == group).to_numpy()
        g = stats.paired_gap(b["counted"][mask], c["counted"][mask])
        rows.append({by: group, "n": g["n"], "baseline_rate": float(b["counted"][mask].mean()),
                     "candidate_rate": float(c["counted"][mask].mean()), "change": g["gap"],
                     "ci_low": g["ci_low"], "ci_high": g["ci_high"], "p_value": g["p_value"]})
    if rows:
        for row, p in zip(rows, stats.holm([r["p_value"] for r in rows])):
            row["p_holm"] = float(p)
            row["shifted"] = bool(abs(row["change"]) > gate.max_shift and row["p_holm"] <= gate.alpha)
    return rows


def _flips(b: pd.DataFrame, c: pd.DataFrame) -> list[dict[str, Any]]:
    changed = b["label"] != c["label"]
    out = []
    for (item_id, sample), br in b[changed].iterrows():
        cr = c.loc[(item_id, sample)]
        out.append({"item_id": item_id, "sample_index": int(sample), "topic": br["topic"],
                    "topic_group": br["topic_group"], "lang": br["lang"], "prompt": br["prompt"],
                    "baseline_model": br["model"], "baseline_label": br["label"], "baseline_response": br["response"],
                    "candidate_model": cr["model"], "candidate_label": cr["label"],
                    "candidate_response": cr["response"]})
    return out


def _index_change(base: list[ProbeRecord], cand: list[ProbeRecord], classifier: Classifier) -> list[dict[str, Any]]:
    out = []
    for lang in ("all",):
        bi = stats.censorship_index(to_frame(base, classifier.name)).query("lang == @lang")
        ci = stats.censorship_index(to_frame(cand, classifier.name)).query("lang == @lang")
        if bi.empty or ci.empty:
            continue
        bv, cv = float(bi["index"].mean()), float(ci["index"].mean())
        out.append({"lang": lang, "baseline": bv, "candidate": cv, "change": cv - bv})
    return out


def _gap_change(b: pd.DataFrame, c: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for group in sorted(b["topic_group"].unique()):
        rates = []
        for frame in (b, c):
            part = frame[frame["topic_group"] == group].reset_index()
            wide = part.pivot_table(index=["pair_id", "sample_index"], columns="lang", values="counted", aggfunc="first")
            if not {"en", "zh"} <= set(wide.columns):
                break
            wide = wide.dropna()
            rates.append(float(wide["zh"].astype(bool).mean() - wide["en"].astype(bool).mean()))
        if len(rates) == 2:
            out.append({"topic_group": group, "baseline": rates[0], "candidate": rates[1],
                        "change": rates[1] - rates[0]})
    return out
