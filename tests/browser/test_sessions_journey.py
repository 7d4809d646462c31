"""Two browsers, two chat transcripts: the per-browser id lives in the URL through links and reloads.

On the way, the uploader's own limit text is the app's file limit (not Streamlit's 200 MB).
Then two people at once: uploads (the second queues behind the first), search and chat
while ingestion runs, each their own history, one consistent index.
"""

import re
import time

import pytest

from lib.chat.history import ChatMessage, save_history
from lib.config import Settings
from tests.browser.conftest import ARTIFACTS, assert_no_exception, go, wait_idle
from tests.browser.uploads import upload

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


ALICE_FACT, BOB_FACT = "The Alice vault code is AV-5521.", "Bob's branch code is BB-3390."


def search(page, query: str) -> str:
    """Run a query on the Search lab; the page's text once results show."""
    main = page.get_by_test_id("stMainBlockContainer")
    before = main.inner_text()  # a page visited before still shows the last query's hits
    box = page.get_by_label("Query")
    box.fill(query)
    box.press("Enter")
    main.get_by_text(" hits").first.wait_for(timeout=120_000)
    deadline = time.monotonic() + 120
    while main.inner_text() == before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    wait_idle(page)
    assert_no_exception(page)
    return page.get_by_test_id("stMainBlockContainer").inner_text()


@pytest.mark.slow  # two sessions ingest, search and ask the local model at once
def test_two_people_upload_search_and_chat_at_the_same_time(app_server, chromium, embedder):
    from lib.chat.history import load_history
    from lib.index.store import Store
    from tests.bad_batch import one_line
    from tests.browser.test_chat_journey import ask

    contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    alice, bob = (c.new_page() for c in contexts)
    try:
        for page in (alice, bob):
            page.set_default_timeout(120_000)
            page.goto(f"{app_server.url}/documents")
            page.get_by_role("heading", name="📄 Documents").wait_for()
            wait_idle(page)
        alice.get_by_role("button", name="📦 Load sample documents").click()
        alice.locator("p", has_text="Last upload (the sample documents):").wait_for(timeout=300_000)
        wait_idle(alice)

        # Alice's long upload runs; Bob's, sent meanwhile, queues behind it (nobody loses one).
        upload(alice, [("alice.txt", ALICE_FACT.encode() + b" " + one_line(300_000))])
        alice.get_by_text("chunks embedded").wait_for()
        upload(bob, [("bob.txt", f"{BOB_FACT} It opens at 07:45 on weekdays.".encode())])
        bob.get_by_text("Queued: 1 file (your upload)").wait_for()
        assert bob.get_by_text("(another session's upload)").count() == 1
        bob.screenshot(path=str(ARTIFACTS / "documents-queued.png"), full_page=True)

        # Meanwhile both use the app: Bob searches, both ask the local model one question.
        go(bob, "Search lab", "🔎 Search lab")
        assert "OB-7731" in search(bob, "OB-7731 lounge access")
        go(alice, "Chat", "💬 Chat")
        go(bob, "Chat", "💬 Chat")
        ask(alice, "What does the Orbit Metal card cost?")
        ask(bob, "How do I freeze my card?")

        # Back on Documents: each sees their own result, the other's as one line.
        for page in (alice, bob):
            go(page, "Documents", "📄 Documents")
        for page in (alice, bob):  # Bob's batch ran after Alice's: wait for both
            page.locator("p", has_text="Last upload (1 file): 1 ingested").wait_for(timeout=600_000)
        for page in (alice, bob):
            page.get_by_text("Another session's upload (1 file): 1 ingested").wait_for(timeout=60_000)
            wait_idle(page)
            assert_no_exception(page)
        go(bob, "Search lab", "🔎 Search lab")
        assert "AV-5521" in search(bob, "Alice vault code AV-5521")  # one shared index

        # Each chat history is its own.
        questions = {who: [m.content for m in load_history(app_server.data_dir, session_of(p))
                           if m.role == "user"] for who, p in (("alice", alice), ("bob", bob))}
        assert questions == {"alice": ["What does the Orbit Metal card cost?"],
                             "bob": ["How do I freeze my card?"]}
    except Exception:
        for who, page in (("alice", alice), ("bob", bob)):
            page.screenshot(path=str(ARTIFACTS / f"FAILED-two-people-{who}.png"), full_page=True)
        raise
    finally:
        for c in contexts:
            c.close()
    app_server.stop()  # both documents fully indexed and the index consistent on disk
    store = Store(app_server.data_dir, embedder)
    try:
        assert store.check_consistency() == []
        for fact, name in ((ALICE_FACT, "alice.txt"), (BOB_FACT, "bob.txt")):
            record = next(r for r in store.documents() if r.name == name)
            assert len(store.chunks_of(record.doc_id)) == record.chunks > 0
            (top, _), *_ = store.keyword_query(fact.split()[-1].rstrip("."), 1)
            assert store.chunk(top).doc_name == name
    finally:
        store.close()
