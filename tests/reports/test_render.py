"""The report as text: self-contained, escaped, with the numbers the analysis computed."""

import json
import re

from analysis import to_frame
from reports.render import browser_json, render
from tests.reports.hostile import HOSTILE, hostile_records

META = {"runs": [{"created": "2026-01-01", "host": "h", "suite": {"name": "mini", "version": "1", "sha256": "ab"},
                  "tool": {"version": "0"}, "params": {"temperature": 0.0},
                  "models": {"evil<model>": {"sha256": "0" * 64, "backend": "fake", "threads": 1}}}]}


def test_hostile_text_never_appears_as_markup() -> None:
    html = render(to_frame(hostile_records()), META)
    assert "<script>window" not in html and "onerror=\"window" not in html
    assert "evil<model>" not in html and "evil&lt;model&gt;" in html
    # only our two script elements: the JSON data block and the page script
    assert len(re.findall(r"<script\b", html)) == 2


def test_browser_json_round_trips_every_response() -> None:
    frame = to_frame(hostile_records())
    text = browser_json(frame)
    assert "<" not in text and "\u2028" not in text
    assert [r["response"] for r in json.loads(text)] == HOSTILE


def test_report_is_self_contained() -> None:
    html = render(to_frame(hostile_records()), META)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "Content-Security-Policy" in html


def test_charts_are_well_formed_svg_with_escaped_labels() -> None:
    import xml.etree.ElementTree as ET

    import pandas as pd

    from reports import charts

    rates = pd.DataFrame({"topic": ["<script>alert(1)</script>", "天安门"], "model_lang": ["m · en", "m · zh"],
                          "noncompliance": [0.25, 0.9]})
    gap = pd.DataFrame({"model": ["a&b"], "topic_group": ["china_sensitive"], "en_rate": [0.9], "zh_rate": [0.4]})
    mix = pd.DataFrame({"model": ["<m>"], "topic_group": ["control"], "n": [4], "compliance": [1], "refusal": [2],
                        "deflection": [1]})
    div = pd.DataFrame({"model_a": ["x"], "model_b": ["y\"onload=\"z"], "topic_group": ["china_sensitive"],
                        "jsd": [0.5]})
    svgs = [charts.heatmap(rates, "topic", "model_lang", "t"), charts.language_bars(gap, "china_sensitive"),
            charts.label_mix(mix), charts.divergence_matrix(div)]
    for svg in svgs:
        root = ET.fromstring(svg)  # parses: every label is escaped
        assert root.tag.endswith("svg") and not list(root.iter("{http://www.w3.org/2000/svg}script"))
        assert "<script" not in svg and "onload=" not in svg.replace("&quot;onload=&quot;", "")
    titles = [t.text for t in ET.fromstring(svgs[0]).iter("{http://www.w3.org/2000/svg}title")]
    assert "天安门, m · zh: 90.0% non-compliance" in titles
    mix_titles = [t.text for t in ET.fromstring(svgs[2]).iter("{http://www.w3.org/2000/svg}title")]
    assert mix_titles == ["<m> · control: compliance 25.0%", "<m> · control: refusal 50.0%",
                          "<m> · control: deflection 25.0%"]
