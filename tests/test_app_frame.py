"""The app frame: home page, sidebar on every page, state across page switches."""

from streamlit.testing.v1 import AppTest

from tests.conftest import APP_PATH
from ui.frame import available_pages


def test_home_renders_walkthrough_and_sidebar():
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "RAG Lab"
    metrics = {m.label: m.value for m in at.sidebar.metric}
    assert metrics == {"Documents": "0", "Chunks": "0"}


def test_every_page_renders_with_the_sidebar():
    at = AppTest.from_file(APP_PATH, default_timeout=120).run()
    for path, _label, _icon in available_pages()[1:]:
        at.switch_page(path).run()
        assert not at.exception, f"{path}: {at.exception}"
        assert [m.label for m in at.sidebar.metric][:2] == ["Documents", "Chunks"], path


def test_page_settings_survive_a_switch_to_another_page(sample_data_dir):
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    at.switch_page("pages/search.py").run()
    at.text_input(key="search_query").set_value("OB-7731 fee").run()
    at.number_input(key="search_top_k").set_value(3).run()
    at.switch_page("pages/evaluate.py").run()
    at.number_input(key="eval_k").set_value(5).run()
    at.switch_page("pages/documents.py").run()
    at.switch_page("pages/search.py").run()
    assert not at.exception
    assert at.text_input(key="search_query").value == "OB-7731 fee"
    assert at.number_input(key="search_top_k").value == 3
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    assert at.number_input(key="eval_k").value == 5


def test_sidebar_says_where_the_vectors_live(monkeypatch, chroma_server):
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    assert "Vectors: embedded Chroma" in [c.value for c in at.sidebar.caption]
    monkeypatch.setenv("RAGLAB_CHROMA_HOST", chroma_server.host)
    monkeypatch.setenv("RAGLAB_CHROMA_PORT", str(chroma_server.port))
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    assert not at.exception
    assert f"Vectors: Chroma server {chroma_server.label}" in [c.value for c in at.sidebar.caption]
