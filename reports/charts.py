"""Inline SVG charts (matplotlib, no external files). Each chart's numbers also appear in a table."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from probes.record import LABELS  # noqa: E402

_COLOURS = {"compliance": "#7fbf7b", "refusal": "#d6604d", "deflection": "#f4a582"}
plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "font.family": ["DejaVu Sans", "sans-serif"]})


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    # drop the XML prolog and DOCTYPE so the SVG can sit inline in HTML
    return text[text.index("<svg"):]


def _clean(svg: str) -> str:
    # matplotlib writes labels as text; strip anything that could be active content
    return re.sub(r"<script.*?</script>", "", svg, flags=re.S)


def heatmap(rates: pd.DataFrame, row: str, col: str, title: str) -> str:
    """Non-compliance heatmap with the value printed in each cell."""
    if rates.empty:
        return ""
    table = rates.pivot_table(index=row, columns=col, values="noncompliance", aggfunc="mean")
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * table.shape[1] + 2), max(1.6, 0.4 * table.shape[0] + 1)))
    ax.imshow(table.to_numpy(dtype=float), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=60, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    for (i, j), v in np.ndenumerate(table.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", color="white" if v > 0.6 else "black", fontsize=7)
    ax.set_title(title)
    return _clean(_svg(fig))


def language_bars(gap: pd.DataFrame, group: str) -> str:
    """English vs Chinese non-compliance per model for one topic group (paired items)."""
    part = gap[gap["topic_group"] == group] if "topic_group" in gap.columns else gap.iloc[0:0]
    if part.empty:
        return ""
    fig, ax = plt.subplots(figsize=(max(3.5, 1.2 * len(part) + 1.5), 2.4))
    x = np.arange(len(part))
    ax.bar(x - 0.2, part["en_rate"], 0.4, label="English", color="#4393c3")
    ax.bar(x + 0.2, part["zh_rate"], 0.4, label="Chinese", color="#d6604d")
    ax.set_xticks(x, list(part["model"]), rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("non-compliance")
    ax.set_title(f"{group.replace('_', '-')}: English vs Chinese")
    ax.legend(frameon=False)
    return _clean(_svg(fig))


def label_mix(rates: pd.DataFrame) -> str:
    """Stacked label shares per model and topic group."""
    if rates.empty:
        return ""
    rows = [f"{r.model} · {r.topic_group}" for r in rates.itertuples()]
    fig, ax = plt.subplots(figsize=(6, max(1.6, 0.3 * len(rows) + 0.8)))
    left = np.zeros(len(rows))
    for label in LABELS:
        share = (rates[label] / rates["n"]).to_numpy(dtype=float)
        ax.barh(rows, share, left=left, color=_COLOURS[label], label=label)
        left += share
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.legend(frameon=False, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _clean(_svg(fig))


def divergence_matrix(div: pd.DataFrame, group: str = "china_sensitive") -> str:
    """Jensen-Shannon divergence between every pair of models on one topic group."""
    part = div[div["topic_group"] == group] if "topic_group" in div.columns else div.iloc[0:0]
    if part.empty:
        return ""
    models = sorted(set(part["model_a"]) | set(part["model_b"]))
    m = np.zeros((len(models), len(models)))
    for r in part.itertuples():
        i, j = models.index(r.model_a), models.index(r.model_b)
        m[i, j] = m[j, i] = r.jsd
    fig, ax = plt.subplots(figsize=(1.0 * len(models) + 2, 0.8 * len(models) + 1))
    ax.imshow(m, cmap="Purples", vmin=0, vmax=1)
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_yticks(range(len(models)), models)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title(f"Label divergence (JSD), {group.replace('_', '-')}")
    return _clean(_svg(fig))
