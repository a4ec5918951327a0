"""The report opened in a real headless Chromium (Debian's), driven by Playwright."""

import shutil
from pathlib import Path

import pytest

from analysis import to_frame
from reports.render import render
from tests.reports.hostile import hostile_records
from tests.reports.test_render import META

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def page_of():  # type: ignore[no-untyped-def]
    if not CHROMIUM:
        pytest.skip("chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )

        def open_report(path: Path):  # type: ignore[no-untyped-def]
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: errors.append("dialog: " + d.message))
            page.goto(path.as_uri())
            page.wait_for_selector("#responses tbody tr")
            return page, errors

        yield open_report
        browser.close()


def _visible_rows(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#responses tbody tr").count())


def test_report_in_browser(page_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = hostile_records()
    from dataclasses import replace

    records += [replace(r, key=r.key + "b", model="other", lang="zh") for r in records]
    html_path = tmp_path / "report.html"
    html_path.write_text(render(to_frame(records), META), encoding="utf-8")
    page, errors = page_of(html_path)

    assert _visible_rows(page) == len(records)
    page.select_option("select[data-filter=model]", "other")
    assert _visible_rows(page) == len(records) // 2
    page.select_option("select[data-filter=label]", "refusal")
    assert 0 < _visible_rows(page) < len(records) // 2
    page.select_option("select[data-filter=model]", "")
    page.select_option("select[data-filter=label]", "")

    # hostile responses are shown as text and never run
    page.click("#responses tbody tr >> nth=0")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("text=<script>window.__pwned = 1").count() >= 1
    assert page.locator("#jslink").count() == 0
    assert page.title().startswith("divergence-probe report")
    assert errors == []

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
