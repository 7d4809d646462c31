"""The home page walkthrough through AppTest: five steps, check marks from real state on disk."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.decision.walkthrough import load_progress, record
from tests.conftest import APP_PATH
from tests.decision_fixtures import save_batch


def home() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def steps(at: AppTest) -> list[str]:
    """Each step's title line, with its check mark."""
    return [m.value for m in at.markdown if m.value.startswith(("**✅", "**⬜"))]


def checks(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_empty_app_has_five_unchecked_steps_with_links(isolated_data_dir: Path):
    at = home()
    titles = steps(at)
    assert len(titles) == 5 and all(t.startswith("**⬜") for t in titles)
    assert at.subheader[0].value == "The walkthrough · 0/5 done"
    links = {p.proto.page for p in at.main.get("page_link")}
    assert {"documents", "search", "chat", "compare", "decide"} <= links
    assert "⬜ documents indexed" in checks(at) and "⬜ a saved guide" in checks(at)


def test_checks_follow_real_state_and_survive_a_restart(sample_data_dir: Path):
    at = home()
    assert steps(at)[0].startswith("**✅ 1.")  # the sample index has chunks
    assert steps(at)[1].startswith("**⬜ 2.")
    at.switch_page("pages/search.py").run()
    at.text_input(key="search_query").set_value("OB-7731").run()  # the Search page marks it
    at.selectbox(key="_model").set_value("Local fine-tuned").run()  # the model switch marks it
    assert not at.exception, at.exception
    assert set(load_progress(sample_data_dir)) == {"search", "model"}
    at.switch_page("pages/decide.py").run()
    at.radio(key="decide_facts").set_value("yes").run()  # saves the guide
    at.switch_page("streamlit_app.py").run()
    marks = [t[2] for t in steps(at)]
    assert marks == ["✅", "✅", "⬜", "✅", "⬜"], steps(at)
    assert "✅ a saved guide" in checks(at) and "⬜ a grid result" in checks(at)

    record(sample_data_dir, "chat", "2026-12-01T10:00:00Z")
    save_batch(sample_data_dir)  # a saved 2x2 batch counts as a grid result
    restarted = home()
    assert all(t.startswith("**✅") for t in steps(restarted)), steps(restarted)
    assert restarted.subheader[0].value == "The walkthrough · 5/5 done"
