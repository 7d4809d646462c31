"""The walkthrough in Chromium, as a new user: empty app -> five steps -> a downloaded report.

Real local model server (base and the shipped adapter). Only structure is asserted, never
model wording. The downloaded HTML report is opened with every request intercepted: it
must make none. The journey's wall time is written to test-artifacts/walkthrough.json.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect

from lib.compare.grid import PRESETS
from lib.generation.models import SHIPPED_ADAPTER
from tests.browser.conftest import ARTIFACTS, assert_no_exception, wait_idle

pytestmark = pytest.mark.browser
QUESTION = "How much does the OB-7731 Metal card cost per month now?"


def step_titles(page) -> list[str]:
    """Each walkthrough step's title line with its check mark, as shown."""
    main = page.get_by_test_id("stMain")
    return [t for t in main.get_by_test_id("stMarkdownContainer").all_inner_texts()
            if t.startswith(("✅", "⬜"))]


def wait_home(page) -> None:
    """The home page is drawn: its walkthrough header (the sidebar also says "RAG Lab")."""
    page.get_by_test_id("stMain").get_by_role("heading", name="The walkthrough").wait_for()
    wait_idle(page)


def go_home(page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("link", name="Home").click()
    wait_home(page)


def open_step_link(page, name: str, heading: str) -> None:
    page.get_by_test_id("stMain").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=heading).wait_for()
    wait_idle(page)


def ask(page, question: str) -> None:
    """Ask in Chat and wait until the answer is redrawn with its feedback widget (or an alert).

    A bubble that is still streaming already counts as a message, and a click while it
    streams would rerun the page and drop the answer.
    """
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(before + 1)
    answer.get_by_test_id("stFeedback").or_(answer.get_by_test_id("stAlert")).first.wait_for(
        timeout=300_000)
    wait_idle(page)
    assert_no_exception(page)
    assert page.get_by_test_id("stChatMessage").count() == before + 2


def tables_not_cut(pdf_path, markdown: str) -> None:
    """Each report table's first and last row print on the same A4 page (print CSS at work)."""
    from pypdf import PdfReader

    def flat(text: str) -> str:  # PDF text has ligatures (ﬁ) and wraps lines anywhere
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    pages = [flat(p.extract_text()) for p in PdfReader(pdf_path).pages]
    assert pages, "the PDF has no pages"
    for block in re.findall(r"((?:^\|.*\|\n)+)", markdown, re.M):
        rows = [r for r in block.splitlines() if not r.startswith("|---")]
        first, last = (flat(r.strip("|").split(" | ")[0])[:20] for r in (rows[0], rows[-1]))
        on = [i for i, text in enumerate(pages) if first in text and last in text]
        assert on, f"table {rows[0]!r} is cut across pages"


def shot(page, name: str, height: int = 1000) -> None:
    page.set_viewport_size({"width": 1400, "height": height})
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_walkthrough_from_an_empty_app_to_a_downloaded_report(app_server, page):
    assert SHIPPED_ADAPTER.is_file(), "run `make adapter` to build the shipped adapter"
    started = time.monotonic()
    laps: dict[str, float] = {}
    page.goto(app_server.url)
    wait_home(page)
    assert len(step_titles(page)) == 5 and all(t.startswith("⬜") for t in step_titles(page))
    shot(page, "walkthrough-0-empty.png")

    # 1. Load the documents
    open_step_link(page, "Open Documents", "📄 Documents")
    page.get_by_role("button", name="📦 Load sample documents").click()
    page.get_by_role("heading", name="Indexed documents (8)").wait_for(timeout=180_000)
    wait_idle(page)
    laps["1 documents"] = time.monotonic() - started

    # 2. An exact ID, then a paraphrase, in the Search lab
    go_home(page)
    assert step_titles(page)[0].startswith("✅")
    open_step_link(page, "Open the Search lab", "🔎 Search lab")
    page.get_by_role("button", name="v2.2 switch-off date").click()
    wait_idle(page)
    page.get_by_role("button", name="What happens to cash sitting").click()
    wait_idle(page)
    assert_no_exception(page)
    laps["2 search"] = time.monotonic() - started

    # 3. A product question with RAG on, then off
    go_home(page)
    open_step_link(page, "Open Chat", "💬 Chat")
    ask(page, QUESTION)
    page.get_by_test_id("stCheckbox").filter(has_text="RAG").locator("label").click()
    wait_idle(page)
    ask(page, QUESTION)
    laps["3 chat"] = time.monotonic() - started

    # 4. The fine-tuned model, same question
    page.get_by_test_id("stCheckbox").filter(has_text="RAG").locator("label").click()
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="Local fine-tuned").click()
    wait_idle(page)
    ask(page, QUESTION)
    laps["4 fine-tuned"] = time.monotonic() - started

    # 5. The 2x2 grid, then the decision guide
    go_home(page)
    assert [t[0] for t in step_titles(page)] == ["✅", "✅", "✅", "✅", "⬜"], step_titles(page)
    open_step_link(page, "Open Compare", "⚖️ Compare")
    page.get_by_role("button", name=PRESETS[0].short, exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="▶️ Run the grid").click()
    page.get_by_role("heading", name="Scorecard").wait_for(timeout=300_000)
    wait_idle(page)
    laps["5a grid"] = time.monotonic() - started
    go_home(page)
    open_step_link(page, "Open the Decision guide", "🧭 Decision guide")
    main = page.get_by_test_id("stMain")
    main.get_by_text("The model does not know our documents").click()
    wait_idle(page)
    main.get_by_text("Wrong tone or style").click()
    wait_idle(page)
    facts = main.get_by_role("radiogroup").first
    facts.get_by_text("yes", exact=True).click()
    wait_idle(page)
    assert_no_exception(page)
    # facts and docs -> RAG; the tone problem alone is not enough without labelled examples
    expect(main.get_by_test_id("stAlert").first).to_contain_text("RAG", timeout=60_000)
    wait_idle(page)
    shot(page, "walkthrough-decide.png", height=1000)
    with page.expect_download() as html_dl:
        main.get_by_role("button", name="⬇️ Download the HTML report").click()
    html_path = ARTIFACTS / "walkthrough-report.html"
    html_dl.value.save_as(html_path)
    laps["5b report"] = time.monotonic() - started
    with page.expect_download() as md_dl:
        main.get_by_role("button", name="⬇️ Download the Markdown report").click()
    md_dl.value.save_as(ARTIFACTS / "walkthrough-report.md")
    total = time.monotonic() - started

    go_home(page)
    assert all(t.startswith("✅") for t in step_titles(page)), step_titles(page)
    shot(page, "walkthrough-done.png")
    (ARTIFACTS / "walkthrough.json").write_text(json.dumps(
        {"seconds": round(total, 1), "laps": {k: round(v, 1) for k, v in laps.items()}}, indent=1))

    # The report: parses, carries what the app measured, and fetches nothing when opened.
    html = html_path.read_text(encoding="utf-8")
    HTMLParser().feed(html)
    md = (ARTIFACTS / "walkthrough-report.md").read_text(encoding="utf-8")
    assert "## Recommendation" in md and "**RAG**" in md
    # The walkthrough ran no evaluation and no batch: the report says so, and invents nothing.
    assert "Not measured yet: Run an evaluation" in md and "nDCG" not in md
    assert "- Chat model: Local fine-tuned" in md
    uri = html_path.as_uri()
    requests: list[str] = []
    report = page.context.new_page()
    report.on("request", lambda r: requests.append(r.url))

    def only_the_file(route):
        if route.request.url == uri:
            route.continue_()
        else:
            route.abort()

    report.route("**/*", only_the_file)
    report.goto(uri)
    report.wait_for_load_state("networkidle")
    assert [u for u in requests if u != uri] == []
    report.set_viewport_size({"width": 900, "height": 1200})
    report.screenshot(path=str(ARTIFACTS / "walkthrough-report.png"))
    report.pdf(path=str(ARTIFACTS / "walkthrough-report.pdf"), format="A4",
               print_background=True)
    report.close()
    tables_not_cut(ARTIFACTS / "walkthrough-report.pdf", md)

    # An app restart keeps every check mark (they are read from the data dir).
    app_server.stop()
    app_server.start()
    page.goto(app_server.url)
    wait_home(page)
    assert all(t.startswith("✅") for t in step_titles(page)), step_titles(page)
