"""The report HTML in a real headless Chromium: plotly charts render offline, no console errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .reporting import shared_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chromium() -> str:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}; .ci/run installs Debian's chromium package")
    pytest.skip(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)")


def test_report_renders_its_charts_offline_without_console_errors(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    out, _ = shared_report(tmp_path_factory)
    html = out / "sma_goog.html"
    errors: list[str] = []
    outside: list[str] = []
    shot = tmp_path / "report.png"

    def only_local(route) -> None:  # noqa: ANN001 - playwright's Route
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", only_local)
            page.goto(html.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8",
                                   timeout=60_000)
            charts = page.locator(".js-plotly-plot").count()
            traces = page.locator(".js-plotly-plot .main-svg .trace").count()
            heatmap = page.locator(".js-plotly-plot .hm, .js-plotly-plot .heatmaplayer image").count()
            stats_rows = page.locator("#weaver-stats tr").count()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    print(f"screenshot: {shot}")
    assert charts == 3  # result chart, monthly heatmap, trade distribution
    assert traces >= 7 and heatmap >= 1
    assert stats_rows > 10
    assert errors == []
    assert outside == []
    assert shot.stat().st_size > 10_000
