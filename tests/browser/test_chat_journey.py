"""The Chat journey in Chromium: samples loaded, grounded answer streamed with sources,
abstention, RAG off, the fine-tuned model, history across pages, new chat.

The app starts its own local model server (as `make run` does); the app_server fixture
stops it at the end.
Only structure is asserted, never the model's wording.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from lib.config import SAMPLE_DOCS_DIR
from tests.browser.conftest import ARTIFACTS, assert_no_exception, go, load_samples, wait_idle

pytestmark = pytest.mark.browser

_LINES = (SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl").read_text().splitlines()
GROUNDED = {q["_id"]: q for q in map(json.loads, filter(str.strip, _LINES))}
CHARGEBACK = GROUNDED["g04"]  # answer in account_terms.pdf and support_faq.md
OUT_OF_SCOPE = "Who won the 2022 FIFA World Cup?"  # top cosine 0.15: abstains
ABSTAINED = "The documents do not seem to contain the answer"


def messages(page):
    return page.get_by_test_id("stChatMessage")


def ask(page, question: str) -> list[str]:
    """Type a question, press Enter; return the texts the answer showed while streaming."""
    before = messages(page).count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    seen: list[str] = []
    deadline = time.monotonic() + 120
    # Poll the answer bubble while the script runs: a streamed answer grows in place. It is
    # done when the redrawn message shows its timings line (or an error).
    while time.monotonic() < deadline:
        if messages(page).count() >= before + 2:
            bubble = messages(page).nth(before + 1)
            text = bubble.inner_text().strip()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if bubble.get_by_test_id("stFeedback").count() or bubble.get_by_test_id(
                    "stAlert").count():
                break
        page.wait_for_timeout(40)
    wait_idle(page)
    assert_no_exception(page)
    assert messages(page).count() == before + 2, "one user and one assistant message added"
    return seen


def model_line(page) -> str:
    """The caption under the page controls: model label and RAG state."""
    main = page.get_by_test_id("stMainBlockContainer")
    return main.get_by_test_id("stCaptionContainer").first.inner_text()


def last_answer(page):
    return messages(page).last


def test_chat_journey(app_server, page):
    started = time.monotonic()
    # Samples loaded through the UI, as a new user would.
    load_samples(page, app_server.url)

    go(page, "Chat", "💬 Chat")
    assert "Local base" in model_line(page)

    # 1. Grounded: streamed, cited, sources from the right file.
    seen = ask(page, CHARGEBACK["question"])
    answer = last_answer(page)
    final = answer.get_by_test_id("stMarkdownContainer").first.inner_text()
    assert final.startswith("According to the documentation")
    assert answer.get_by_test_id("stMarkdownContainer").first.locator(
        "span", has_text=" · ").count() >= 1, "the citation badge names its document"
    streamed = [t[t.index("According"):] for t in seen if "According" in t]
    partial = [t for t in streamed if len(t) < len(final) and final.startswith(t[:20])]
    assert partial, f"no intermediate state seen while streaming: {seen}"
    sources = answer.get_by_test_id("stExpander")
    assert sources.count() == 1
    label = sources.locator("summary").inner_text()
    assert "cited" in label and "retrieved, not cited" in label
    sources.locator("summary").click()
    listed = sources.inner_text()
    assert any(s["doc"] in listed for s in CHARGEBACK["sources"]), listed
    assert "score" in listed
    assert "first token" in answer.inner_text() and "tok/s" in answer.inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-grounded.png"), full_page=True)

    # 2. Out of scope: abstains before calling the model, shows the closest sources.
    ask(page, OUT_OF_SCOPE)
    answer = last_answer(page)
    assert ABSTAINED in answer.inner_text()
    assert "Abstained before calling the model" in answer.inner_text()
    assert answer.get_by_test_id("stExpander").locator("summary").inner_text().endswith(
        "Closest sources")

    # 3. RAG off: an answer, no sources.
    page.get_by_test_id("stCheckbox").filter(has_text="RAG").locator("label").click()
    wait_idle(page)
    assert "RAG off" in model_line(page)
    ask(page, "What is the capital of France?")
    answer = last_answer(page)
    assert answer.get_by_test_id("stMarkdownContainer").first.inner_text().strip()
    assert answer.get_by_test_id("stExpander").count() == 0
    assert "first token" in answer.inner_text()

    # 4. The fine-tuned model from the sidebar, RAG on again: an answer with sources.
    page.get_by_test_id("stCheckbox").filter(has_text="RAG").locator("label").click()
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="Local fine-tuned").click()
    wait_idle(page)
    assert "Local fine-tuned" in model_line(page)
    ask(page, GROUNDED["g10"]["question"])
    answer = last_answer(page)
    assert answer.get_by_test_id("stMarkdownContainer").first.inner_text().strip()
    assert answer.get_by_test_id("stExpander").count() == 1
    assert "Local fine-tuned" in answer.inner_text()

    # Settings: a typed OpenAI key is masked.
    sidebar.get_by_test_id("stExpander").locator("summary").click()
    assert sidebar.get_by_role("textbox", name="OpenAI API key").get_attribute("type") == "password"

    # 5. History survives a page switch; New chat clears it.
    sidebar.get_by_role("link", name="Documents").click()
    page.get_by_role("heading", name="📄 Documents").wait_for()
    wait_idle(page)
    sidebar.get_by_role("link", name="Chat").click()
    page.get_by_role("heading", name="💬 Chat").wait_for()
    wait_idle(page)
    assert messages(page).count() == 8
    page.get_by_role("button", name="🧹 New chat").click()
    expect(messages(page)).to_have_count(0)  # the rerun may start after the click returns
    wait_idle(page)
    assert_no_exception(page)
    assert time.monotonic() - started < 150, "the journey should stay under ~2 minutes"
