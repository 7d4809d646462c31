"""The full stakeholder report (three inline charts) in Chromium: no request at all, A4 print."""

from __future__ import annotations

import pytest

from lib.decision.report import to_html
from tests.browser.conftest import ARTIFACTS
from tests.decision_fixtures import FULL
from tests.test_decision_report import COST, data

pytestmark = pytest.mark.browser


def test_full_report_opens_offline_and_prints_on_a4(chromium, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    path = tmp_path / "report.html"
    path.write_text(to_html(data(FULL, COST)), encoding="utf-8")
    context = chromium.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url == path.as_uri()
               else route.abort())
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    assert requests == [path.as_uri()]
    # three charts drawn, each with a visible size (inline SVG, nothing to load)
    boxes = [page.locator("svg").nth(i).bounding_box() for i in range(page.locator("svg").count())]
    assert len(boxes) == 3 and all(b and b["width"] > 300 and b["height"] > 100 for b in boxes)
    # printed: every table fits A4's content width, 210 mm - 2 x 15 mm margins = 680 CSS px
    page.set_viewport_size({"width": 680, "height": 1000})
    page.emulate_media(media="print")
    widths = page.evaluate("[...document.querySelectorAll('table')].map(t => t.scrollWidth)")
    body = page.evaluate("document.body.clientWidth")
    assert widths and max(widths) <= body
    page.pdf(path=str(ARTIFACTS / "report-full.pdf"), format="A4", print_background=True)
    context.close()
