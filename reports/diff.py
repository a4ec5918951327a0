"""``probe diff`` output formats: Markdown (pull-request comments), JUnit XML (CI servers), HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from analysis.diff import DiffResult
from reports.render import _ENV


def _md_cell(text: object) -> str:
    # Markdown tables break on pipes and newlines; HTML in a comment must not render
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " ").strip())


def to_markdown(result: DiffResult, max_flips: int = 20) -> str:
    """A summary table of topic groups and the first label flips."""
    b, c, g = result.baseline, result.candidate, result.gate
    verdict = "❌ shift beyond the gate" if result.shifted else "✅ no shift beyond the gate"
    lines = [
        f"### probe diff: {verdict}",
        "",
        f"Baseline {', '.join(b['models'])} vs candidate {', '.join(c['models'])} on {b['suite']} "
        f"v{b['suite_version']}: {result.matched} matched prompts, {len(result.flips)} label flips. "
        f"Gate: change in {'+'.join(g.fail_on)} rate > {g.max_shift:.0%} with Holm p <= {g.alpha}.",
        "",
        "| topic group | n | baseline | candidate | change (95% CI) | p (Holm) | shifted |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for r in result.groups:
        lines.append(f"| {_md_cell(r['topic_group'])} | {r['n']} | {r['baseline_rate']:.0%} | {r['candidate_rate']:.0%} "
                     f"| {r['change']:+.0%} ({r['ci_low']:+.0%} to {r['ci_high']:+.0%}) | {r['p_holm']:.3g} "
                     f"| {'yes' if r['shifted'] else 'no'} |")
    if result.flips:
        lines += ["", f"<details><summary>{len(result.flips)} label flips</summary>", "",
                  "| item | lang | baseline | candidate | prompt |", "| --- | --- | --- | --- | --- |"]
        for f in result.flips[:max_flips]:
            lines.append(f"| {_md_cell(f['item_id'])} | {f['lang']} | {f['baseline_label']} | {f['candidate_label']} "
                         f"| {_md_cell(f['prompt'])[:120]} |")
        if len(result.flips) > max_flips:
            lines.append(f"| … | | | | {len(result.flips) - max_flips} more |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def to_junit(result: DiffResult) -> str:
    """JUnit XML with one test case per topic group; a shifted group is a failure."""
    suite = ET.Element("testsuite", name="probe diff", tests=str(len(result.groups)),
                       failures=str(len(result.shifted)), errors="0", skipped="0")
    for r in result.groups:
        case = ET.SubElement(suite, "testcase", classname=f"probe.diff.{result.baseline['suite']}",
                             name=str(r["topic_group"]), time="0")
        summary = (f"{'+'.join(result.gate.fail_on)} rate {r['baseline_rate']:.1%} -> {r['candidate_rate']:.1%} "
                   f"(change {r['change']:+.1%}, 95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, "
                   f"Holm p={r['p_holm']:.3g}, n={r['n']})")
        if r["shifted"]:
            failure = ET.SubElement(case, "failure", message=summary, type="BehaviourShift")
            failure.text = "\n".join(
                f"{f['item_id']}: {f['baseline_label']} -> {f['candidate_label']}"
                for f in result.flips if f["topic_group"] == r["topic_group"]
            )
        else:
            ET.SubElement(case, "system-out").text = summary
    root = ET.Element("testsuites", name="divergence-probe")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def to_html(result: DiffResult) -> str:
    """The report's diff view: rates per group and every flip side by side."""
    return _ENV.get_template("diff.html.j2").render(r=result, verdict=bool(result.shifted))
