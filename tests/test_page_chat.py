"""The Chat page through AppTest, on the real sample index and the real local model server."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.request

import pytest
from streamlit.testing.v1 import AppTest

import lib.generation.local_server as local_server
from lib.config import SAMPLE_DOCS_DIR
from lib.chat.feedback import load_feedback
from tests.conftest import open_chat_page
from tests.llm_fixtures import adopt_into, shared_server

pytestmark = pytest.mark.slow  # every test here runs the real local model or builds one

GROUNDED = [json.loads(x) for x in
            (SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl").read_text().splitlines() if x]


@pytest.fixture(autouse=True)
def forget_app_servers():
    """After each test: stop any server the app started itself, keep the shared one."""
    yield
    shared = shared_server().pid
    for key, manager in list(local_server._SHARED.items()):
        if manager.pid not in (None, shared):
            manager.stop()
        local_server._SHARED.pop(key, None)


def chat(data_dir=None, session: str | None = None) -> AppTest:
    """The Chat page, with the shared model server recorded in the data dir (reused).

    `session`: the browser's id in the URL (a restarted browser comes back with it).
    """
    if data_dir is not None:
        adopt_into(data_dir)
    return open_chat_page(session, timeout=120)


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="chat_input").set_value(question).run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return " | ".join(c.value for c in at.caption)


def test_empty_index_says_what_to_do(isolated_data_dir):
    at = chat()
    assert at.title[0].value == "💬 Chat"
    assert any("index is empty" in i.value for i in at.info)
    assert at.chat_input(key="chat_input") is not None


def test_grounded_answer_with_sources_timings_and_feedback(sample_data_dir):
    at = ask(chat(sample_data_dir), GROUNDED[3]["question"])  # g04: chargeback time limit
    user, assistant = at.chat_message
    assert user.name == "user" and assistant.name == "assistant"
    text = assistant.markdown[0].value
    # the citation [n] is drawn as a badge naming the document and page
    assert text.startswith("According to the documentation") and ":blue-badge[" in text
    unescaped = text.replace("\\", "")
    assert any(f" · {doc}" in unescaped for doc in ("account_terms.pdf", "support_faq.md"))
    sources = [e.label for e in at.expander if e.label.startswith("📚")]
    assert sources and "cited" in sources[0] and "retrieved, not cited" in sources[0]
    assert "first token" in captions(at) and "prompt +" in captions(at)
    shown_check = captions(at) + " | ".join(w.value for w in at.warning)
    assert "Grounding check" in shown_check, "every answer shows its grounding check"
    answer = at.session_state.chat_history[1].answer
    assert answer.grounding is not None
    assert ("⚠️ Grounding check" in shown_check) == (not answer.grounding.passed)
    shown = " ".join(m.value.replace("\\", "") for m in at.markdown)  # markdown-escaped names
    assert "account_terms.pdf" in shown or "support_faq.md" in shown
    assert "<mark>chargeback</mark>" in shown.lower(), "snippets show the question's words"

    at.feedback(key="chat_thumbs_1").set_value(0).run()  # thumbs down
    at.text_area(key="chat_fix_text_1").set_value("You have 120 days [1].")
    at.button(key="chat_fix_save_1").click().run()
    assert not at.exception
    (record,) = load_feedback(sample_data_dir)
    assert record.rating == "down" and record.correction == "You have 120 days [1]."
    assert record.question == GROUNDED[3]["question"] and record.context
    assert record.answer == at.session_state.chat_history[1].content  # "[n]", no badge
    assert record.answer.startswith("According to the documentation")


def test_out_of_scope_abstains_and_rag_off_answers_without_sources(sample_data_dir):
    at = ask(chat(sample_data_dir), "Who won the 2022 FIFA World Cup?")
    assert "Abstained before calling the model" in captions(at)
    assert any(e.label == "📚 Closest sources" for e in at.expander)

    at.toggle(key="_chat_rag").set_value(False).run()
    at = ask(at, "What is the capital of France?")
    last = at.chat_message[-1]
    assert last.markdown[0].value.strip()
    assert not any(e.label.startswith("📚") for e in last.expander)
    assert "RAG off" in captions(at)


def test_history_survives_page_switch_and_restart_and_new_chat_clears(sample_data_dir):
    at = ask(chat(sample_data_dir), "Who won the 2022 FIFA World Cup?")
    at.switch_page("pages/documents.py").run()
    at.switch_page("pages/chat.py").run()
    assert len(at.chat_message) == 2 and not at.exception
    sid = at.query_params["session"]  # this browser's id, kept in its URL
    restarted = chat(sample_data_dir, sid)  # a new session, as after an app restart
    assert [m.name for m in restarted.chat_message] == ["user", "assistant"]
    assert any(e.label.startswith("📚") for e in restarted.expander), "sources come back too"
    at.button(key="chat_new").click().run()
    assert len(at.chat_message) == 0
    assert len(chat(sample_data_dir, sid).chat_message) == 0, "New chat clears the saved one"


def test_provider_error_is_one_line(sample_data_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at = chat(sample_data_dir)
    at.session_state["compatible_url"] = f"http://127.0.0.1:{port}"
    at.session_state["compatible_model"] = "llama3.2"
    at.session_state["model"] = "OpenAI-compatible"
    at = ask(at.run(), GROUNDED[3]["question"])
    assert at.error and f"Cannot reach 127.0.0.1:{port}" in at.error[0].value
    assert "\n" not in at.error[0].value and "Traceback" not in at.error[0].value


def _kill_when_generating(base_url: str, pid: int, done: threading.Event) -> None:
    """SIGKILL the server while its slot is busy with a request (i.e. mid-answer)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done.is_set():
        try:
            with urllib.request.urlopen(f"{base_url}/slots", timeout=2) as resp:
                if any(s.get("is_processing") for s in json.loads(resp.read())):
                    time.sleep(0.3)
                    os.kill(pid, signal.SIGKILL)
                    return
        except OSError:
            pass
        time.sleep(0.05)


def test_server_killed_mid_answer_then_next_question_works(sample_data_dir):
    """No adoption here: the app starts its own server, which this test kills."""
    at = chat()
    at = ask(at, GROUNDED[9]["question"])  # starts the app's own local server
    manager = local_server.get_local_server(sample_data_dir)
    first_pid = manager.pid
    assert first_pid and first_pid != shared_server().pid

    done = threading.Event()
    killer = threading.Thread(target=_kill_when_generating,
                              args=(manager.base_url, first_pid, done), daemon=True)
    killer.start()
    at = ask(at, GROUNDED[3]["question"])
    done.set()
    killer.join(5)
    assert at.error, "the broken answer shows an error"
    assert "local model server" in at.error[0].value.lower() and "\n" not in at.error[0].value

    at = ask(at, GROUNDED[6]["question"])  # the next question restarts the server
    assert manager.pid not in (None, first_pid)
    assert at.chat_message[-1].markdown[0].value.startswith("According to the documentation")


def test_openai_key_typed_in_settings_is_used_and_never_written(sample_data_dir, monkeypatch):
    """The OpenAI path end to end: key typed in the sidebar, model picked, question answered."""
    from tests.fake_openai import FakeOpenAI

    key = "sk-typed-in-the-sidebar-123"
    with FakeOpenAI(api_key=key, models={"gpt-4o-mini"},
                    reply="The card costs £12.99 a month [1].") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        at = chat(sample_data_dir)
        assert "OpenAI" not in at.sidebar.selectbox(key="_model").options  # no key yet
        at.sidebar.text_input(key="_openai_key").input(key).run()
        at.sidebar.selectbox(key="_model").select("OpenAI").run()
        at.sidebar.button(key="_test_connection").click().run()
        assert at.sidebar.success and "Connected to OpenAI" in at.sidebar.success[0].value
        at = ask(at, GROUNDED[0]["question"])
        shown = at.chat_message[-1].markdown[0].value
        assert shown.startswith("The card costs £12.99 a month") and ":blue-badge[1 · " in shown
        sources = [e.label for e in at.expander if e.label.startswith("📚")]
        assert "OpenAI" in captions(at) and "1 cited" in sources[0]
        assert all(h == f"Bearer {key}" for h in fake.auth_headers)
        assert fake.requests[-1]["messages"][-1]["role"] == "user"  # no prefill for OpenAI
    for path in sample_data_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), f"the key leaked into {path}"
