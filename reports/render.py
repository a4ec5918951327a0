"""Render the record table and run metadata into one self-contained HTML file.

Statistics are computed here through ``analysis``; the template only formats them. Model output
reaches the page in two ways, both inert: autoescaped table cells, and a JSON block whose ``<``
is escaped so that no response can close the ``<script>`` element, read by code that only ever
sets ``textContent``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import jinja2
import pandas as pd

from analysis import stats
from analysis.findings import findings
from reports import charts

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pct(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


_ENV.filters["pct"] = _pct
_ENV.filters["num"] = _num


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in df.to_dict(orient="records")]


def _classifier_metrics() -> dict[str, Any]:
    """Measured accuracy of the shipped classifiers (written by ``bench/classify.py --save``)."""
    from importlib import resources

    try:
        data = json.loads(resources.files("analysis").joinpath("classifier_metrics.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def browser_json(frame: pd.DataFrame) -> str:
    """The response browser's data, safe to place inside a ``<script>`` element."""
    cols = ["key", "model", "topic", "topic_group", "lang", "pair_id", "style", "prompt", "response",
            "label", "confidence", "empty", "degenerate", "truncated", "overridden", "error"]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict(orient="records")
    text = json.dumps(rows, ensure_ascii=False)
    # "<" and the two JavaScript line separators are the only characters that can end a script
    # block or break the literal; escaping them keeps every response inert data.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render(frame: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The report for ``frame`` (from ``analysis.to_frame``) of the runs described by ``meta``.

    Args:
        frame: one row per record.
        meta: ``{"runs": [run.json contents, ...]}``.

    Returns:
        The HTML document.
    """
    by_group = stats.rates(frame, ["model", "topic_group", "lang"])
    by_topic = stats.rates(frame, ["model", "topic_group", "topic", "lang"])
    mix = stats.rates(frame, ["model", "topic_group"])
    gap = stats.language_gap(frame, by="topic_group")
    divergence = stats.model_divergence(frame, by="topic_group")
    index = stats.censorship_index(frame)
    facts = stats.fact_measures(frame)
    heat = by_topic.assign(model_lang=by_topic["model"] + " · " + by_topic["lang"])
    context = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": meta.get("runs", []),
        "models": sorted(frame["model"].dropna().unique()),
        "suites": sorted({f"{r['suite']['name']} v{r['suite']['version']}" for r in meta.get("runs", [])}),
        "n_records": len(frame),
        "n_errors": int(frame["error"].notna().sum()),
        "n_overrides": int(frame["overridden"].sum()) if len(frame) else 0,
        "classifiers": sorted(frame["classifier"].dropna().unique()),
        "classifier_metrics": _classifier_metrics(),
        "by_group": _records(by_group),
        "by_topic": _records(by_topic),
        "index": _records(index),
        "gap": _records(gap),
        "divergence": _records(divergence),
        "mix": _records(mix),
        "findings": findings(frame, {"index": index, "gap": gap, "mix": mix, "divergence": divergence,
                                     "facts": facts}),
        "charts": {
            "heatmap": charts.heatmap(heat, "topic", "model_lang", "Non-compliance by topic, model and language"),
            "lang_china": charts.language_bars(gap, "china_sensitive"),
            "lang_control": charts.language_bars(gap, "control"),
            "mix": charts.label_mix(mix),
            "divergence": charts.divergence_matrix(divergence),
        },
        "facts": _records(facts),
        "browser_json": browser_json(frame),
        "filters": {c: sorted(frame[c].dropna().astype(str).unique()) for c in
                    ("model", "topic_group", "topic", "lang", "label")},
    }
    return _ENV.get_template("report.html.j2").render(**context)
