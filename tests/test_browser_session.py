"""Per-browser chat sessions (ui.browser_session + pages/chat.py) through AppTest, with a fake OpenAI."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lib.chat.history import ChatMessage, is_session_id, save_history
from tests.conftest import open_chat_page
from tests.fake_openai import FakeOpenAI

KEY = "sk-browser-session-test-456"


@pytest.fixture
def fake_openai(monkeypatch):
    """A fake OpenAI with the key set in the environment, so no local model is involved."""
    with FakeOpenAI(api_key=KEY, models={"gpt-4o-mini"}, reply="An answer.") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        yield fake


def open_chat(session: str | None = None) -> AppTest:
    """A new browser session on the Chat page (a new connection, as after a restart)."""
    return open_chat_page(session)


def ask_openai(at: AppTest, question: str) -> AppTest:
    """RAG off, OpenAI chosen, one question."""
    at.sidebar.selectbox(key="_model").select("OpenAI").run()
    at.toggle(key="_chat_rag").set_value(False).run()
    at.chat_input(key="chat_input").set_value(question).run()
    assert not at.exception
    return at


def questions(at: AppTest) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "user"]


def test_a_first_visit_gets_an_id_in_the_url_that_page_switches_keep():
    at = open_chat()
    sid = at.query_params["session"]
    assert is_session_id(sid) and len(sid) == 36  # a UUID
    at.switch_page("pages/documents.py").run()
    assert at.query_params["session"] == sid
    assert open_chat().query_params["session"] != sid  # another browser, another id


def test_two_browsers_do_not_see_each_others_history_after_a_restart(fake_openai):
    alice = ask_openai(open_chat(), "Alice asks about card fees")
    bob = ask_openai(open_chat(), "Bob asks about transfers")
    a_id, b_id = alice.query_params["session"], bob.query_params["session"]
    assert a_id != b_id
    assert questions(bob) == ["Bob asks about transfers"]  # even before a restart
    # Restart: new connections that come back with the ids in their URLs.
    assert questions(open_chat(a_id)) == ["Alice asks about card fees"]
    assert questions(open_chat(b_id)) == ["Bob asks about transfers"]
    assert questions(open_chat()) == []  # a new browser starts empty
    again = open_chat(a_id)
    again.button(key="chat_new").click().run()
    assert questions(open_chat(a_id)) == [] and questions(open_chat(b_id)) == [
        "Bob asks about transfers"]


def test_the_old_single_transcript_opens_as_the_default_session(isolated_data_dir):
    save_history(isolated_data_dir, [ChatMessage("user", "asked before sessions existed")])
    assert questions(open_chat("default")) == ["asked before sessions existed"]


def test_a_bad_id_in_the_url_is_replaced_not_used(isolated_data_dir):
    at = open_chat("../../outside")
    assert is_session_id(at.query_params["session"]) and not at.exception
    assert not (isolated_data_dir.parent / "outside.json").exists()
