"""A key typed in the UI never reaches the data dir, the log, saved results or the page (issue 15).

The journey uses the real app through AppTest and a fake OpenAI on 127.0.0.1 (no local
model): type the key, test the connection, ask a grounded question, rate the answer, run
a one-question Compare batch (saved for the Decision guide), then search everywhere.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.compare.results import load_results
from tests.conftest import APP_PATH
from tests.fake_openai import FakeOpenAI

KEY_FIELD = "_openai_key"  # the masked password field: the one place the key may be


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def page_source(at: AppTest) -> bytes:
    """Every element the page sent to the browser, serialised, but the key's own field."""
    return b"".join(node.proto.SerializeToString() for node in at._tree
                    if getattr(node, "proto", None) is not None
                    and getattr(node, "key", None) != KEY_FIELD)


def type_key(at: AppTest, key: str) -> AppTest:
    at.sidebar.text_input(key=KEY_FIELD).input(key).run()
    at.sidebar.selectbox(key="_model").select("OpenAI").run()
    assert not at.exception, at.exception
    return at


def test_a_typed_key_is_used_but_never_written_logged_or_shown(sample_data_dir: Path, monkeypatch,
                                                                caplog):
    caplog.set_level(logging.DEBUG)  # everything any module logs, httpx and openai included
    key = f"sk-typed-{uuid.uuid4().hex}"
    pages: list[bytes] = []
    with FakeOpenAI(api_key=key, models={"gpt-4o-mini"},
                    reply="The Orbit Metal card costs £12.99 a month [1].") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        chat = type_key(open_page("pages/chat.py"), key)
        chat.sidebar.button(key="_test_connection").click().run()
        assert "Connected to OpenAI" in chat.sidebar.success[0].value
        chat.chat_input(key="chat_input").set_value("How much is the Orbit Metal card?").run()
        assert not chat.exception, chat.exception
        assert chat.chat_message[-1].markdown[0].value.startswith("The Orbit Metal card costs")
        chat.feedback(key="chat_thumbs_1").set_value(0).run()  # feedback saves the context
        pages.append(page_source(chat))

        compare = type_key(open_page("pages/compare.py"), key)
        compare.selectbox(key="cmp_base").select("OpenAI").run()
        compare.selectbox(key="cmp_tuned").select("OpenAI").run()
        compare.slider(key="cmp_batch_n").set_value(1).run()
        compare.button(key="cmp_batch_start").click().run()
        deadline = time.monotonic() + 120
        while load_results(sample_data_dir) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        saved = load_results(sample_data_dir)
        assert saved is not None and len(saved.questions[0].cells) == 4
        compare.run()
        assert not compare.exception, compare.exception
        pages.append(page_source(compare))
        assert fake.auth_headers and all(h == f"Bearer {key}" for h in fake.auth_headers)
        assert len(fake.requests) >= 5  # the chat answer and the four cells: the key was used

    secret = key.encode()
    files = [p for p in sample_data_dir.rglob("*") if p.is_file()]
    assert any(p.parent.name == "chat" or "chat" in p.parts for p in files)  # history written
    assert any("feedback" in str(p) for p in files) and saved is not None  # and the rest
    leaks = [str(p.relative_to(sample_data_dir)) for p in files if secret in p.read_bytes()]
    assert leaks == []
    assert key not in caplog.text and caplog.records  # the log said things, never the key
    assert all(secret not in page for page in pages)
    assert secret in b"".join(n.proto.SerializeToString() for n in chat._tree
                              if getattr(n, "proto", None) is not None)  # the check can see it
    assert key[-8:] not in caplog.text  # not even the tail a masked echo would show
