"""Compare in Chromium: load the samples, run the 2×2 grid on a preset, four scored cells.

Runs the real local model server (base and the shipped adapter). No model wording is
asserted: only that four cells stream an answer and each gets its computed scorecard.
"""

import re

import pytest

from lib.compare.grid import PRESETS
from lib.generation.models import SHIPPED_ADAPTER
from tests.browser.conftest import ARTIFACTS, assert_no_exception, wait_idle

pytestmark = pytest.mark.browser

CELL_LABELS = (
    "Local base · RAG off",
    "Local base · RAG on",
    "Local fine-tuned · RAG off",
    "Local fine-tuned · RAG on",
)


def test_grid_on_a_preset_question_shows_four_scored_cells(app_server, page):
    assert SHIPPED_ADAPTER.is_file(), "run `make adapter` to build the shipped adapter"
    page.goto(f"{app_server.url}/documents")
    wait_idle(page)
    page.get_by_role("button", name="📦 Load sample documents").click()
    page.get_by_role("heading", name="Indexed documents (8)").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Compare").click()
    page.get_by_role("heading", name="⚖️ Compare").wait_for()
    wait_idle(page)
    page.get_by_role("button", name=PRESETS[0].short, exact=True).click()
    wait_idle(page)
    assert page.get_by_label("Question", exact=True).input_value() == PRESETS[0].question
    page.get_by_role("button", name="▶️ Run the grid").click()
    page.get_by_role("heading", name="Scorecard").wait_for(timeout=300_000)  # after 4 cells
    wait_idle(page)
    assert_no_exception(page)

    main = page.get_by_test_id("stMain")
    for label in CELL_LABELS:
        assert main.get_by_text(label, exact=True).count() >= 1, label
    captions = [c for c in main.get_by_test_id("stCaptionContainer").all_inner_texts()
                if c.startswith("⏱")]
    assert len(captions) == 4, captions
    assert all(re.search(r"style \d+/\d+ · grounded", c) for c in captions), captions
    table = main.get_by_test_id("stTable")
    assert all(label in table.inner_text() for label in CELL_LABELS)
    assert "grounded" in table.inner_text() and "latency" in table.inner_text()
    assert all(f"states {PRESETS[0].fact}" in c for c in captions), captions
    # Streamlit scrolls inside its main block: a tall viewport puts the scorecard in the shot.
    page.set_viewport_size({"width": 1400, "height": 2000})
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "compare-grid.png"), full_page=True)
