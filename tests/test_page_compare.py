"""The Compare page through AppTest: the 2×2 grid on a preset question with the real local server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.compare.grid import PRESETS
from lib.compare.results import load_results
from lib.generation.local_server import get_local_server
from lib.generation.models import SHIPPED_ADAPTER
from tests.conftest import APP_PATH


def open_compare() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=300)
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def local_server_cleanup(sample_data_dir: Path):
    """The page starts the shared local server for this data dir: stop it afterwards."""
    yield sample_data_dir
    get_local_server(sample_data_dir).stop()


def test_empty_index_points_to_documents():
    at = open_compare()
    assert any("The index is empty" in str(i.value) for i in at.info)
    assert "cmp_run" not in [b.key for b in at.button]  # no grid without documents


@pytest.mark.slow
def test_grid_on_a_preset_question_scores_all_four_cells(local_server_cleanup):
    assert SHIPPED_ADAPTER.is_file(), "run `make adapter` to build the shipped adapter"
    at = open_compare()
    assert at.selectbox(key="cmp_base").value == "Local base"
    assert at.selectbox(key="cmp_tuned").value == "Local fine-tuned"
    at.button(key="cmp_preset_0").click().run()
    assert at.text_input(key="cmp_question").value == PRESETS[0].question
    at.button(key="cmp_run").click().run()
    assert not at.exception, at.exception
    last = at.session_state["cmp_last"]
    results = last["results"]
    assert [r.key for r in results] == ["base_rag_off", "base_rag_on", "ft_rag_off", "ft_rag_on"]
    for r in results:
        assert r.error == "" and r.text.strip(), (r.label, r.error)
        assert r.card is not None and len(r.card.rules) == 6 and r.seconds > 0
        assert r.expected_found is not None  # a preset: "states £12.99" is checked
    by_key = {r.key: r.card for r in results}
    assert by_key["base_rag_off"].rule("R6").passed is None  # no documents given: n/a
    assert by_key["ft_rag_on"].rule("R6").passed is not None
    assert last["sources"]  # retrieved once, shown under the grid
    table = at.table[0].value
    assert list(table.columns) == [r.label for r in results]
    assert "grounded" in table.index and "latency" in table.index
    assert any("⏱" in c.value for c in at.caption)


@pytest.mark.slow
def test_batch_mode_saves_per_cell_averages(local_server_cleanup):
    at = open_compare()
    at.slider(key="cmp_batch_n").set_value(1).run()
    at.button(key="cmp_batch_start").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + 600
    while load_results(local_server_cleanup) is None and time.monotonic() < deadline:
        time.sleep(1)
    saved = load_results(local_server_cleanup)
    assert saved is not None and saved.n_questions == 1
    assert set(saved.summary.keys) == {"base_rag_off", "base_rag_on", "ft_rag_off", "ft_rag_on"}
    for cell in saved.summary.cells:
        assert cell.style.n == 1 and 0 <= cell.style.style_score <= 1 and cell.seconds > 0
    assert len(saved.questions[0].cells) == 4
    at.run()
    assert not at.exception, at.exception
    assert any("Saved to" in c.value or "Last saved batch" in c.value for c in at.caption)
