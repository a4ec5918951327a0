"""Records whose responses try to run code in the report, a spreadsheet or a terminal."""

from dataclasses import replace

from probes.record import LABELS, Label, ProbeRecord

HOSTILE = [
    "<script>window.__pwned = 1; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.__pwned = 1\">",
    "</textarea></table></script><script>window.__pwned = 1</script>",
    "<a href=\"javascript:window.__pwned = 1\" id=\"jslink\">click</a>",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "\x1b[2J\x1b[31mterminal takeover\x1b]0;title\x07",
    "line\u2028separator\u2029paragraph",
]


def hostile_records() -> list[ProbeRecord]:
    base = ProbeRecord(key="", suite="mini", suite_version="1", item_id="", pair_id="", lang="en",
                       topic="tiananmen", topic_group="china_sensitive", style="factual", prompt="<b>bold</b>?",
                       model="evil<model>", model_sha256="0" * 64)
    out = []
    for i, text in enumerate(HOSTILE):
        lab = LABELS[i % 3]
        out.append(replace(base, key=f"h{i}", item_id=f"h{i}.en", pair_id=f"h{i}", response=text,
                           labels={"k@1": Label(lab, {k: float(k == lab) for k in LABELS}, (), "k@1")}))
    return out
