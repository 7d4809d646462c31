"""The Search lab page through AppTest, on the sample index and on an empty one."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lib.retrieval.fusion import Normalization
from lib.samples import labelled_queries
from tests.conftest import APP_PATH


def open_search_page() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60)
    at.run()
    at.switch_page("pages/search.py")
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_empty_index_points_to_documents() -> None:
    at = open_search_page()
    assert "The index is empty" in texts(at.info)
    assert not at.main.text_input  # no query box without documents


def test_example_query_three_columns_and_fusion_switch(sample_data_dir) -> None:
    at = open_search_page()
    showcase = [q for q in labelled_queries() if q.showcase]
    assert showcase, "the sample set has showcase queries"
    first = showcase[0]
    at.button(key=f"search_example_{first.id}").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="search_query").value == first.text
    assert [s.value for s in at.subheader] == ["Vector", "Keyword", "Hybrid"]
    markdown = texts(at.markdown)
    assert "Vector and keyword agree on" in markdown
    assert "<mark>" in markdown  # query terms highlighted in the snippets
    captions = texts(at.caption)
    assert "recall@5" in captions and "RR" in captions  # it is a labelled query
    assert "no reranker configured (set RAGLAB_RERANKER_URL)" in captions
    assert "✅" in markdown  # some hit comes from a relevant document
    assert "🎯" in markdown  # ... and some lies in the labelled passage

    assert at.radio(key="search_mode").value == "Weighted", "the README's best fusion is the default"
    assert at.slider(key="search_alpha").value == 0.5
    at.radio(key="search_normalization").set_value(Normalization.MINMAX).run()
    assert not at.exception, at.exception
    at.slider(key="search_alpha").set_value(0.8).run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == ["Vector", "Keyword", "Hybrid"]
    assert "hybrid score" in texts(at.caption)
    at.radio(key="search_mode").set_value("RRF").run()
    assert not at.exception, at.exception
    assert at.slider(key="search_rrf_k").value == 60


def test_own_query_and_top_k(sample_data_dir) -> None:
    at = open_search_page()
    at.text_input(key="search_query").set_value("OB-7731 <script>alert(1)</script>").run()
    at.number_input(key="search_top_k").set_value(3).run()
    assert not at.exception, at.exception
    markdown = texts(at.markdown)
    assert "<script>" not in markdown  # the query is never echoed as raw HTML
    assert "recall@" not in texts(at.caption)  # not a labelled query: no metrics
    assert markdown.count("<b>#1</b>") == 3 and "<b>#4</b>" not in markdown


def test_reranker_toggle_with_a_real_server_and_fallback(sample_data_dir, monkeypatch) -> None:
    import threading
    from http.server import ThreadingHTTPServer

    from tests.test_rerank import RerankHandler

    server = ThreadingHTTPServer(("127.0.0.1", 0), RerankHandler)
    server.mode, server.requests = "ok", []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("RAGLAB_RERANKER_URL", f"http://127.0.0.1:{server.server_address[1]}")
        at = open_search_page()
        at.text_input(key="search_query").set_value("Metal card monthly fee").run()
        at.toggle(key="search_rerank").set_value(True).run()
        assert not at.exception, at.exception
        assert "rerank score" in texts(at.caption) and server.requests  # type: ignore[attr-defined]
        server.mode = "401"  # type: ignore[attr-defined]
        at.text_input(key="search_query").set_value("Metal card annual fee").run()
        assert not at.exception, at.exception
        assert "without reranking" in texts(at.warning)
        assert "hybrid score" in texts(at.caption)
    finally:
        server.shutdown()
        server.server_close()
