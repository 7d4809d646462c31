"""Settings chosen on the Evaluate page reach the Search lab (AppTest, sample index)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lib.retrieval.fusion import FusionMode
from lib.tuning import app_fusion
from tests.conftest import APP_PATH


def test_sweep_settings_saved_on_evaluate_are_the_search_labs_defaults(sample_data_dir):
    at = AppTest.from_file(APP_PATH, default_timeout=300).run()
    at.switch_page("pages/evaluate.py").run()
    at.selectbox(key="eval_sweep").set_value("rrf-k").run()
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert any("not significantly worse" in c.value for c in at.caption)
    advice = [a.value for a in [*at.info, *at.warning] if "Recommendation" in a.value]
    assert len(advice) == 1 and "samples" in advice[0]
    at.selectbox(key="eval_use_value").set_value(20).run()
    at.button(key="eval_use_settings").click().run()
    assert not at.exception
    saved = app_fusion(sample_data_dir)
    assert saved.mode is FusionMode.RRF and saved.rrf_k == 20
    assert any("rrf (RRF k 20" in c.value for c in at.caption)

    search = AppTest.from_file(APP_PATH, default_timeout=60).run()
    search.switch_page("pages/search.py").run()
    assert not search.exception
    assert search.radio(key="search_mode").value == "RRF"
    assert search.slider(key="search_rrf_k").value == 20
    # the sidebar of every page (Chat's too) says what was chosen
    assert any("Chosen on Evaluate" in c.value and "RRF k 20" in c.value
               for c in search.sidebar.caption)
