"""Flatten records into one pandas row each: the table every statistic and report reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from probes.record import LABELS, Label, ProbeRecord

HUMAN = "human"
"""Label key of a reviewer's override; it wins over every classifier."""

COLUMNS = (
    "key", "suite", "suite_version", "item_id", "pair_id", "lang", "topic", "topic_group", "style",
    "control_of", "model", "model_sha256", "sample_index", "prompt", "response", "reasoning", "finish_reason",
    "error", "prompt_tokens", "completion_tokens", "latency_s", "label", "classifier", "confidence",
    "p_compliance", "p_refusal", "p_deflection", "empty", "degenerate", "truncated", "overridden",
    "complied", "fact_coverage", "narrative",
)


def chosen_label(record: ProbeRecord, classifier: str | None = None) -> Label | None:
    """The label reports use: a human override, else ``classifier``'s, else the last one added."""
    if HUMAN in record.labels:
        return record.labels[HUMAN]
    if classifier and classifier in record.labels:
        return record.labels[classifier]
    return next(reversed(record.labels.values()), None)


def fact_coverage(record: ProbeRecord) -> float | None:
    """Share of the item's reference facts the response mentions (None without facts)."""
    if not record.facts or record.response is None:
        return None
    text = record.response.lower()
    return sum(any(s.lower() in text for s in fact) for fact in record.facts) / len(record.facts)


def narrative_hit(record: ProbeRecord) -> bool | None:
    """Whether the response uses a state-narrative marker (None when the item has none)."""
    if not record.narrative or record.response is None:
        return None
    text = record.response.lower()
    return any(m.lower() in text for m in record.narrative)


def to_frame(records: Iterable[ProbeRecord], classifier: str | None = None) -> pd.DataFrame:
    """One row per record with its chosen label, probabilities, flags and fact measures."""
    rows = []
    for r in records:
        label = chosen_label(r, classifier)
        probs = label.probs if label else {}
        flags = label.flags if label else ()
        rows.append(
            {
                "key": r.key, "suite": r.suite, "suite_version": r.suite_version,
                "item_id": r.item_id, "pair_id": r.pair_id, "lang": r.lang, "topic": r.topic,
                "topic_group": r.topic_group, "style": r.style,
                "control_of": list(r.control_of), "model": r.model,
                "model_sha256": r.model_sha256, "sample_index": r.sample_index,
                "prompt": r.prompt, "response": r.response, "reasoning": r.reasoning,
                "finish_reason": r.finish_reason, "error": r.error,
                "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
                "latency_s": r.latency_s,
                "label": label.label if label else None,
                "classifier": label.classifier if label else None,
                "confidence": label.confidence if label else None,
                **{f"p_{k}": probs.get(k) for k in LABELS},
                **{f: f in flags for f in ("empty", "degenerate", "truncated")},
                "overridden": HUMAN in r.labels,
                "complied": (label.label == "compliance") if label else None,
                "fact_coverage": fact_coverage(r),
                "narrative": narrative_hit(r),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
