"""Human review: reviewer labels that override the classifier's, kept beside them in the record."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

from analysis.frame import HUMAN, chosen_label
from probes.errors import ProbeError
from probes.record import LABELS, Label, ProbeRecord

LOW_CONFIDENCE = 0.6
"""Labels whose probability is below this are flagged for review."""


class OverridesError(ProbeError):
    """An overrides file is unreadable or names unknown keys or labels."""


def needs_review(record: ProbeRecord, threshold: float = LOW_CONFIDENCE) -> bool:
    """Whether a record's current label is a classifier's and less confident than ``threshold``."""
    label = chosen_label(record)
    return label is not None and label.source != "human" and label.confidence < threshold


def override(record: ProbeRecord, label: str) -> ProbeRecord:
    """A copy of ``record`` with a reviewer's label, which reports prefer over any classifier's."""
    if label not in LABELS:
        raise OverridesError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    current = chosen_label(record)
    flags = current.flags if current else ()
    human = Label(label=label, probs={k: float(k == label) for k in LABELS}, flags=flags,
                  classifier=HUMAN, source="human")
    return replace(record, labels={**record.labels, HUMAN: human})


def read_overrides(path: Path) -> dict[str, str]:
    """``key -> label`` from a CSV with ``key`` and ``label`` columns or a JSON object.

    Raises:
        OverridesError: unreadable file, missing columns or an unknown label.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OverridesError(f"{path}: cannot read ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise OverridesError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise OverridesError(f"{path}: expected a JSON object of key -> label")
        pairs = {str(k): str(v) for k, v in data.items()}
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not {"key", "label"} <= set(reader.fieldnames):
            raise OverridesError(f"{path}: a CSV of overrides needs 'key' and 'label' columns")
        pairs = {row["key"].strip(): row["label"].strip() for row in reader}
    bad = {k: v for k, v in pairs.items() if v not in LABELS}
    if bad:
        k, v = next(iter(bad.items()))
        raise OverridesError(f"{path}: unknown label {v!r} for key {k}; use one of {', '.join(LABELS)}")
    return pairs


def apply_overrides(records: dict[str, ProbeRecord], overrides: dict[str, str]) -> list[ProbeRecord]:
    """Overridden copies of the records named in ``overrides``.

    Raises:
        OverridesError: a key that is not in the run.
    """
    missing = [k for k in overrides if k not in records]
    if missing:
        raise OverridesError(f"{len(missing)} key(s) not in this run, e.g. {missing[0]}")
    return [override(records[k], label) for k, label in overrides.items()]
