"""Evaluate in Chromium: two runs with different fusion, compare them, open a regressed query."""

import re

import pytest

from tests.browser.conftest import ARTIFACTS, assert_no_exception, go, load_samples, wait_idle

pytestmark = pytest.mark.browser


def test_two_runs_compare_and_a_regressed_query_opens(app_server, page):
    load_samples(page, app_server.url)

    go(page, "Evaluate", "📊 Evaluate")
    page.get_by_role("button", name="▶️ Run evaluation").click()
    page.get_by_role("heading", name=re.compile(r"Results: samples")).wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_exception(page)
    main = page.get_by_test_id("stMain")
    # paired tests, e.g. "hybrid − keyword = +0.05 [..]"; under load they render a moment
    # after the results heading, so wait for them (a missing line still fails on timeout)
    main.get_by_text("hybrid − ").first.wait_for(timeout=60_000)
    assert "hybrid − " in main.inner_text()

    # second run: vector only inside hybrid (alpha 1), so exact-id queries lose their keyword
    page.get_by_text("⚙️ Settings").click()
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("End")
    wait_idle(page)
    page.get_by_role("button", name="▶️ Run evaluation").click()
    page.get_by_role("heading", name="Saved runs (2)").wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_exception(page)
    warning = main.get_by_test_id("stAlert").filter(has_text="regressed from the base run")
    assert warning.count() == 1, main.inner_text()[-2000:]

    # the runs diff's filter is the page's last radio group: show only the regressions
    main.get_by_role("radiogroup").last.get_by_text("Regressed", exact=True).click()
    wait_idle(page)
    assert_no_exception(page)
    text = main.inner_text()
    assert "base hybrid" in text and "new hybrid" in text  # both ranked lists, side by side
    assert "✅ rel" in text  # documents marked relevant with their grade
    page.set_viewport_size({"width": 1400, "height": 2400})
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "evaluate-runs-diff.png"), full_page=True)

    # the abstention curve on the sample questions, the app's threshold marked
    page.get_by_role("button", name="📈 Draw the abstention curve").click()
    main.get_by_text("of in-scope questions").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    chart = main.get_by_test_id("stVegaLiteChart").last
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # let Vega draw
    chart.screenshot(path=str(ARTIFACTS / "evaluate-abstention.png"))
