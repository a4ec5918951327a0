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
