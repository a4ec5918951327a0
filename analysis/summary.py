"""Every statistic of a record table as plain JSON-ready data (``probe report --json``)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis import stats
from analysis.findings import findings


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Rates, censorship index, language gap, divergence, fact measures and findings."""
    return {
        "records": len(frame),
        "errors": int(frame["error"].notna().sum()),
        "rates": _rows(stats.rates(frame, ["model", "topic_group", "lang"])),
        "rates_by_topic": _rows(stats.rates(frame, ["model", "topic_group", "topic", "lang"])),
        "censorship_index": _rows(stats.censorship_index(frame)),
        "language_gap": _rows(stats.language_gap(frame, by="topic_group")),
        "model_divergence": _rows(stats.model_divergence(frame, by="topic_group")),
        "fact_coverage": _rows(stats.fact_measures(frame)),
        "findings": findings(frame),
    }
