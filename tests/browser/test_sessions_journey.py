"""Two browsers, two chat transcripts: the per-browser id lives in the URL through links and reloads.

On the way, the uploader's own limit text is the app's file limit (not Streamlit's 200 MB).
"""

import re

import pytest

from lib.chat.history import ChatMessage, save_history
from lib.config import Settings
from tests.browser.conftest import assert_no_exception, wait_idle

pytestmark = pytest.mark.browser
SESSION = re.compile(r"[?&]session=([0-9a-f-]{36})(?:&|$)")


def session_of(page) -> str:
    match = SESSION.search(page.url)
    assert match, page.url
    return match.group(1)


def open_chat(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="💬 Chat").wait_for()
    wait_idle(page)


def user_messages(page) -> list[str]:
    return [m.inner_text().strip() for m in
            page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id(
                "stChatMessageAvatarUser")).all()]


def test_each_browser_keeps_its_own_transcript_across_links_and_reloads(app_server, chromium):
    contexts = [chromium.new_context() for _ in range(2)]
    alice, bob = (c.new_page() for c in contexts)
    try:
        for page in (alice, bob):
            open_chat(page, f"{app_server.url}/chat")
        a_id, b_id = session_of(alice), session_of(bob)
        assert a_id != b_id
        # Alice's transcript on disk (as if she had asked earlier): only her URL opens it.
        save_history(app_server.data_dir, [ChatMessage("user", "Alice's question")], a_id)
        sidebar = alice.get_by_test_id("stSidebar")
        sidebar.get_by_role("link", name="Documents").click()
        alice.get_by_role("heading", name="📄 Documents").wait_for()
        assert session_of(alice) == a_id  # page links carry the id
        limit = alice.get_by_test_id("stFileUploaderDropzoneInstructions").inner_text()
        assert f"{Settings().upload_limit_mb}MB per file" in limit.replace(" MB", "MB"), limit
        alice.reload()  # a new connection: the id comes back from the URL
        alice.get_by_role("heading", name="📄 Documents").wait_for()
        wait_idle(alice)
        assert session_of(alice) == a_id
        sidebar.get_by_role("link", name="Chat").click()
        alice.get_by_role("heading", name="💬 Chat").wait_for()
        wait_idle(alice)
        assert session_of(alice) == a_id
        assert any("Alice's question" in m for m in user_messages(alice))
        bob.reload()
        bob.get_by_role("heading", name="💬 Chat").wait_for()
        wait_idle(bob)
        assert session_of(bob) == b_id and user_messages(bob) == []
        for page in (alice, bob):
            assert_no_exception(page)
    finally:
        for c in contexts:
            c.close()
