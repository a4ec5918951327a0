"""Inline SVG charts, written directly (no plotting library, a few milliseconds each).

Every label is escaped (topic and model names come from user files) and every mark carries a
``<title>`` with its exact value; each chart's numbers also appear in a table beside it.
"""

from __future__ import annotations

import html
import math
import unicodedata

import numpy as np
import pandas as pd

from probes.record import LABELS

_COLOURS = {"compliance": "#7fbf7b", "refusal": "#d6604d", "deflection": "#f4a582"}
_REDS = ((255, 245, 240), (252, 187, 161), (251, 106, 74), (203, 24, 29), (103, 0, 13))
_PURPLES = ((252, 251, 253), (218, 218, 235), (158, 154, 200), (106, 81, 163), (63, 0, 125))
_FONT = 11


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _width(text: str, size: int = _FONT) -> float:
    """Approximate rendered width: wide (CJK) characters take a full em, others about 0.6."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.6 * size for c in text)


def _colour(value: float, stops: tuple[tuple[int, int, int], ...]) -> str:
    x = min(max(value, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    t = x - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(stops[i], stops[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(title)}" '
            f'font-family="DejaVu Sans, sans-serif" font-size="{_FONT}">'
            f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-weight="bold">{_e(title)}</text>'
            + "".join(body) + "</svg>")  # fmt: skip


def _matrix(values: np.ndarray, rows: list[str], cols: list[str], title: str, stops: tuple[tuple[int, int, int], ...],
            fmt: str, tip: str) -> str:  # fmt: skip
    """A grid of coloured cells with the value printed in each, row labels left, column labels on top."""
    cell_w, cell_h = 44, 20
    left = max((_width(r) for r in rows), default=0) + 10
    top = 24 + max((_width(c) for c in cols), default=0) * 0.71 + 8  # column labels at -45 degrees
    body = []
    for j, col in enumerate(cols):
        x = left + j * cell_w + cell_w / 2
        body.append(f'<text transform="translate({x:.1f},{top - 6:.1f}) rotate(-45)">{_e(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6:.1f}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">{_e(row)}</text>')
        for j, col in enumerate(cols):
            v = float(values[i, j])
            x = left + j * cell_w
            if math.isnan(v):
                body.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="#f2f2f2"/>')
                continue
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{_colour(v, stops)}" '
                        f'stroke="#fff"><title>{_e(tip.format(row=row, col=col, v=v))}</title></rect>'
                        f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 4}" text-anchor="middle" font-size="9" '
                        f'fill="{"#fff" if v > 0.6 else "#000"}">{format(v, fmt)}</text>')  # fmt: skip
    overhang = max((_width(c) for c in cols), default=0) * 0.71  # the last column label leans right
    return _svg(left + cell_w * len(cols) + overhang + 10, top + cell_h * len(rows) + 10, body, title)


def heatmap(rates: pd.DataFrame, row: str, col: str, title: str) -> str:
    """Non-compliance heatmap with the value printed in each cell."""
    if rates.empty:
        return ""
    table = rates.pivot_table(index=row, columns=col, values="noncompliance", aggfunc="mean")
    return _matrix(table.to_numpy(dtype=float), [str(i) for i in table.index], [str(c) for c in table.columns],
                   title, _REDS, ".0%", "{row}, {col}: {v:.1%} non-compliance")  # fmt: skip


def language_bars(gap: pd.DataFrame, group: str) -> str:
    """English vs Chinese non-compliance per model for one topic group (paired items)."""
    part = gap[gap["topic_group"] == group] if "topic_group" in gap.columns else gap.iloc[0:0]
    if part.empty:
        return ""
    models = [str(m) for m in part["model"]]
    left, top, plot_h, slot = 40, 40, 140, max(70.0, max(_width(m) for m in models) + 16)
    bottom = top + plot_h
    body = [f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#444"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = bottom - tick * plot_h
        body.append(f'<line x1="{left}" x2="{left + slot * len(models)}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                    f'<text x="{left - 4}" y="{y + 4}" text-anchor="end" font-size="9">{tick:.0%}</text>')
    for k, r in enumerate(part.itertuples()):
        x = left + k * slot + slot / 2
        for offset, rate, name, colour in ((-16, r.en_rate, "English", "#4393c3"), (2, r.zh_rate, "Chinese", "#d6604d")):
            if rate is None or (isinstance(rate, float) and math.isnan(rate)):
                continue
            h = float(rate) * plot_h
            body.append(f'<rect x="{x + offset}" y="{bottom - h:.1f}" width="14" height="{h:.1f}" fill="{colour}">'
                        f'<title>{_e(r.model)}, {name}: {float(rate):.1%}</title></rect>')
        body.append(f'<text x="{x}" y="{bottom + 14}" text-anchor="middle">{_e(r.model)}</text>')
    width = left + slot * len(models) + 90
    body.append(f'<rect x="{width - 85}" y="{top}" width="10" height="10" fill="#4393c3"/>'
                f'<text x="{width - 71}" y="{top + 9}">English</text>'
                f'<rect x="{width - 85}" y="{top + 16}" width="10" height="10" fill="#d6604d"/>'
                f'<text x="{width - 71}" y="{top + 25}">Chinese</text>')
    return _svg(width, bottom + 24, body, f"{group.replace('_', '-')}: English vs Chinese non-compliance")


def label_mix(rates: pd.DataFrame) -> str:
    """Stacked label shares per model and topic group."""
    if rates.empty:
        return ""
    rows = [f"{r.model} · {r.topic_group}" for r in rates.itertuples()]
    left, top, bar_w, bar_h = max(_width(r) for r in rows) + 10, 40, 320, 16
    body = []
    for k, label in enumerate(LABELS):
        body.append(f'<rect x="{left + k * 100}" y="22" width="10" height="10" fill="{_COLOURS[label]}"/>'
                    f'<text x="{left + k * 100 + 14}" y="31">{label}</text>')
    for i, (name, r, n) in enumerate(zip(rows, rates.itertuples(), rates["n"].to_numpy(dtype=float))):
        y, x = top + i * (bar_h + 4), float(left)
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{_e(name)}</text>')
        for label in LABELS:
            share = float(getattr(r, label)) / n if n else 0.0
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{share * bar_w:.1f}" height="{bar_h}" '
                        f'fill="{_COLOURS[label]}"><title>{_e(name)}: {label} {share:.1%}</title></rect>')
            x += share * bar_w
    return _svg(left + bar_w + 10, top + len(rows) * (bar_h + 4) + 6, body, "Label mix by model and topic group")


def divergence_matrix(div: pd.DataFrame, group: str = "china_sensitive") -> str:
    """Jensen-Shannon divergence between every pair of models on one topic group."""
    part = div[div["topic_group"] == group] if "topic_group" in div.columns else div.iloc[0:0]
    if part.empty:
        return ""
    models = sorted({str(m) for m in part["model_a"]} | {str(m) for m in part["model_b"]})
    m = np.zeros((len(models), len(models)))
    for r in part.itertuples():
        i, j = models.index(str(r.model_a)), models.index(str(r.model_b))
        m[i, j] = m[j, i] = r.jsd
    return _matrix(m, models, models, f"Label divergence (JSD), {group.replace('_', '-')}", _PURPLES, ".2f",
                   "{row} vs {col}: JSD {v:.3f}")  # fmt: skip
