"""Read prompt/response CSVs for classification and write them back safely."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.base import Classifier, Sample
from probes.errors import ProbeError
from probes.record import FLAGS, LABELS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvInputError(ProbeError):
    """The CSV cannot be classified (missing columns, unreadable)."""


def read_labelled_csv(path: Path, required: tuple[str, ...] = ("prompt", "response")) -> pd.DataFrame:
    """A CSV as strings (empty cells stay empty strings), checking required columns.

    Raises:
        CsvInputError: unreadable file or a required column missing.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CsvInputError(f"{path}: cannot read as UTF-8 CSV ({exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CsvInputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
    return frame


def samples_of(frame: pd.DataFrame) -> list[Sample]:
    """Classifier inputs of a CSV frame (``lang`` and ``finish_reason`` columns are optional)."""
    langs = frame["lang"] if "lang" in frame.columns else [None] * len(frame)
    finish = frame["finish_reason"] if "finish_reason" in frame.columns else [None] * len(frame)
    return [Sample(p, r, lang or None, f or None) for p, r, lang, f in
            zip(frame["prompt"], frame["response"], langs, finish)]


def neutralise_formula(value: object) -> object:
    """Prefix a cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_safe_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` with formula-like cells neutralised (model output is hostile text)."""
    safe = frame.apply(lambda col: col.map(neutralise_formula))
    safe.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8")


def classify_csv(path: Path, out: Path, classifier: Classifier) -> int:
    """Label every row of ``path`` and write all input columns plus predictions to ``out``.

    Returns:
        Number of rows.
    """
    frame = read_labelled_csv(path)
    labels = classifier.classify_batch(samples_of(frame))
    out_frame = frame.copy()
    out_frame["predicted_label"] = [lab.label for lab in labels]
    for name in LABELS:
        out_frame[f"p_{name}"] = [round(lab.probs.get(name, 0.0), 4) for lab in labels]
    for flag in FLAGS:
        out_frame[flag] = [flag in lab.flags for lab in labels]
    write_safe_csv(out_frame, out)
    return len(frame)


def evaluate_csv(path: Path, classifier: Classifier) -> dict[str, Any]:
    """Classify a gold-labelled CSV and score the predictions (see ``analysis.evaluate``).

    Raises:
        CsvInputError: missing columns or labels outside compliance/refusal/deflection/partial.
    """
    from analysis.evaluate import GOLD_LABELS, evaluate

    frame = read_labelled_csv(path, ("prompt", "response", "label"))
    bad = sorted(set(frame["label"]) - set(GOLD_LABELS))
    if bad:
        raise CsvInputError(f"{path}: unknown label(s) {', '.join(map(repr, bad[:5]))}; use {', '.join(GOLD_LABELS)}")
    predicted = pd.Series([lab.label for lab in classifier.classify_batch(samples_of(frame))])
    result = evaluate(frame["label"], predicted, frame["lang"] if "lang" in frame.columns else None)
    return {"classifier": classifier.name, "file": str(path), **result}
