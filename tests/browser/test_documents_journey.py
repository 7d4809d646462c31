"""A new user's first minutes: deep link, upload a mixed batch, restart, the index survives."""

import pytest

from tests.browser.conftest import ARTIFACTS, assert_no_exception, wait_idle
from tests.browser.uploads import upload
from tests.pdf_factory import make_encrypted_pdf, make_pdf

pytestmark = pytest.mark.browser


def test_upload_mixed_batch_and_survive_restart(app_server, page):
    # Deep link on a freshly started server: the page and our sidebar, not the auto menu.
    page.goto(f"{app_server.url}/documents")
    page.get_by_role("heading", name="📄 Documents").wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("link", name="Search lab").count() == 1
    wait_idle(page)

    files = {
        "fee_notes.pdf": make_pdf(["OB-7731 Metal card fees and limits.", "Page two: ATM fees."]),
        "faq.md": b"# Card help\n\nFreeze your card in the app if it is lost.\n",
        "locked.pdf": make_encrypted_pdf("secret", "pw"),
        "broken.pdf": b"%PDF-1.7 not really a pdf",
        "empty.txt": b"",
    }
    upload(page, list(files.items()))
    page.get_by_text("2 ingested · 0 duplicate · 3 refused").wait_for()
    wait_idle(page)
    assert_no_exception(page)
    alert = page.get_by_test_id("stAlert").filter(has_text="broken.pdf")
    assert "locked.pdf" in alert.inner_text() and "empty.txt" in alert.inner_text()
    page.screenshot(path=str(ARTIFACTS / "documents-upload.png"), full_page=True)
    assert sidebar.get_by_test_id("stMetricValue").first.inner_text() == "2"

    # Restart the app: the index is reopened from disk.
    app_server.stop()
    app_server.start()
    page.goto(f"{app_server.url}/documents")
    page.get_by_role("heading", name="Indexed documents (2)").wait_for()
    assert_no_exception(page)


def test_load_samples_from_home(app_server, page):
    page.goto(f"{app_server.url}/documents")
    wait_idle(page)
    page.get_by_role("heading", name="📄 Documents").wait_for()
    # The sample button only shows on an empty index; the first test left 2 documents.
    assert page.get_by_role("button", name="📦 Load sample documents").count() == 0
