"""Issue 15 in a real browser: cancel an upload, then one batch of every bad input on top of the samples.

The files are generated (tests/bad_batch.py). Afterwards the app is stopped and the index is
opened from disk: the sample documents must all be there, consistent and searchable by
vector and by keyword.
"""

from __future__ import annotations

import pytest

from lib.index.store import Store
from lib.ingest.documents import display_name
from lib.samples import sample_files
from tests.bad_batch import bad_batch, one_line
from tests.browser.conftest import ARTIFACTS, assert_no_exception, wait_idle
from tests.browser.uploads import upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~1,100 chunks to embed: a minute or more


def summary(page, label: str):
    """The one-line summary of this session's upload labelled `label`, once it shows."""
    prefix = f"Last upload ({label}): "
    line = page.locator("p", has_text=prefix)
    line.wait_for(timeout=600_000)
    wait_idle(page)
    return line.inner_text().removeprefix(prefix)


def test_cancel_then_one_bad_batch_on_top_of_the_samples(app_server, page, embedder):
    page.goto(f"{app_server.url}/documents")
    page.get_by_role("heading", name="📄 Documents").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="📦 Load sample documents").click()
    n_samples = len(sample_files())
    assert f"{n_samples} ingested" in summary(page, "the sample documents")

    # A long upload, cancelled while it embeds: nothing of it is added.
    upload(page, [("long-report.txt", one_line(600_000))])
    page.get_by_text("chunks embedded").wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "documents-job-running.png"), full_page=True)
    page.get_by_role("button", name="⏹ Cancel").click()
    line = summary(page, "1 file")
    assert line.startswith("Cancelled: nothing stayed in the index; long-report.txt not added"), line
    assert_no_exception(page)
    page.get_by_role("heading", name=f"Indexed documents ({n_samples})").wait_for()
    page.screenshot(path=str(ARTIFACTS / "documents-job-cancelled.png"), full_page=True)

    files, expected = bad_batch()
    upload(page, files)
    page.get_by_text("chunks embedded").wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "documents-bad-batch-running.png"), full_page=True)
    counts = {s: sum(v == s for v in expected.values()) for s in ("ingested", "duplicate", "refused")}
    line = summary(page, f"{len(files)} files")
    assert line == (f"{counts['ingested']} ingested · {counts['duplicate']} duplicate · "
                    f"{counts['refused']} refused"), line
    assert_no_exception(page)
    reasons = page.get_by_test_id("stAlert").filter(has_text="corrupt.pdf").inner_text().splitlines()
    refused = [n for n, s in expected.items() if s == "refused"]
    assert len(reasons) == len(refused), reasons  # one line each
    for name in refused:
        assert any(r.startswith(display_name(name) + ": ") for r in reasons), name
    page.screenshot(path=str(ARTIFACTS / "documents-bad-batch.png"), full_page=True)

    app_server.stop()  # the index as it reached the disk
    store = Store(app_server.data_dir, embedder)
    try:
        names = {r.name for r in store.documents()}
        good = {n for n, s in expected.items() if s == "ingested"}
        assert names == {n for n, _ in sample_files()} | good
        assert store.check_consistency() == []
        for record in store.documents():
            if record.name not in good:  # every earlier document, by vector and by keyword
                first = store.chunks_of(record.doc_id)[0]
                vector = store.vector_query(embedder.embed_query(first.text), 3)
                keyword = store.keyword_query(" ".join(first.text.split()[:30]), 3)
                assert first.id in {i for i, _ in vector}, record.name
                assert any(store.chunk(i).doc_id == record.doc_id for i, _ in keyword), record.name
    finally:
        store.close()
