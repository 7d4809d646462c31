"""Model faults in Chromium: the local model server SIGKILLed mid-answer, then the next
question restarts it (the sidebar says so); an answer cut at the length limit gets a note.

The app starts its own local model server (real llama.cpp; its pid comes from
lib.generation.local_server); OpenAI's cloud is the fake HTTP server on 127.0.0.1, passed
to the app as OPENAI_BASE_URL. Only structure is asserted, never the model's wording.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.generation.local_server import LocalServer
from tests.browser.conftest import ARTIFACTS, CHROMIUM, AppServer, assert_no_exception, wait_idle
from tests.fake_openai import FakeOpenAI

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots-faults")
KEY = "sk-faults-journey"
# the answer's own text, not the "Starting the local model…" status box (an expander)
STREAMED = '[data-testid="stMarkdownContainer"]:not([data-testid="stExpander"] *)'
LONG = "Write a long story about a lighthouse keeper and his cat, in many paragraphs."


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, FakeOpenAI]]:
    """The app with the fake OpenAI cloud in its environment (OpenAI is then pickable)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    SHOTS.mkdir(exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    with FakeOpenAI(api_key=KEY, models={"gpt-4o-mini"}, reply="A partial answer") as fake, \
            pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", fake.url)
        env.setenv("OPENAI_API_KEY", KEY)
        server = AppServer(tmp_path_factory.mktemp("faults") / "data")
        server.start()
        try:
            yield server, fake
        finally:
            server.stop()
            server.stop_model_server()


def messages(page):
    return page.get_by_test_id("stChatMessage")


def send(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def sidebar_text(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def kill_mid_answer(page, data_dir: Path, before: int) -> int:
    """Wait for streamed text in the new answer, then SIGKILL the server; its pid."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = LocalServer(data_dir).status()  # pid checks only: reads the run file
        if status.state == "running" and messages(page).count() >= before + 2:
            text = messages(page).nth(before + 1).locator(STREAMED)
            if text.count() and len(text.first.inner_text().strip()) >= 10:
                os.kill(status.pid, signal.SIGKILL)
                return int(status.pid)
        page.wait_for_timeout(50)
    raise AssertionError("the answer never started streaming")


def test_model_faults_journey(app, chromium):
    server, fake = app
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server.url}/chat")
        page.get_by_role("heading", name="💬 Chat").wait_for()
        wait_idle(page)
        assert "starts with the first question" in sidebar_text(page)
        # RAG off: the model answers at length from what it knows (no index needed)
        page.get_by_test_id("stCheckbox").filter(has_text="RAG").locator("label").click()
        wait_idle(page)

        # 1. Killed mid-stream: one line, no traceback; the sidebar says it stopped.
        send(page, LONG)
        killed = kill_mid_answer(page, server.data_dir, 0)
        answer = messages(page).nth(1)
        alert = answer.get_by_test_id("stAlert")
        alert.wait_for(timeout=60_000)
        wait_idle(page)
        assert alert.count() == 1, answer.inner_text()
        line = alert.inner_text().strip()
        assert "local model server stopped while answering" in line.lower()
        assert "\n" not in line and "Traceback" not in page.content()
        assert_no_exception(page)
        assert "stopped unexpectedly" in sidebar_text(page)
        page.screenshot(path=str(SHOTS / "faults-killed.png"), full_page=True)

        # 2. The next question restarts it and gets an answer; the sidebar counts the restart.
        send(page, "Say hello in one short sentence.")
        page.get_by_text("Restarting the local model server (it had stopped)").wait_for()
        answer = messages(page).nth(3)
        answer.get_by_text("first token").wait_for(timeout=180_000)
        wait_idle(page)
        assert answer.get_by_test_id("stAlert").count() == 0, answer.inner_text()
        assert answer.get_by_test_id("stMarkdownContainer").first.inner_text().strip()
        assert "first token" in answer.inner_text()
        status = LocalServer(server.data_dir).status()
        assert status.state == "running" and status.pid != killed
        assert "restarted 1×" in sidebar_text(page)
        assert_no_exception(page)
        page.screenshot(path=str(SHOTS / "faults-restarted.png"), full_page=True)

        # 3. An answer cut at the length limit (OpenAI, faked) gets a visible note.
        fake.finish_reason = "length"
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name="OpenAI", exact=True).click()
        wait_idle(page)
        send(page, "Tell me everything about cards.")
        answer = messages(page).nth(5)
        answer.get_by_text("cut off at the model's length limit").wait_for()  # after the redraw
        wait_idle(page)
        assert answer.get_by_test_id("stAlert").count() == 1
        assert "A partial answer" in answer.inner_text()  # what came is kept
        assert_no_exception(page)
        page.screenshot(path=str(SHOTS / "faults-cut-off.png"), full_page=True)
    finally:
        context.close()
