"""Issue 15, crash safety of the app itself: SIGKILL the Streamlit process while it ingests.

tests/test_crash_safety.py kills a child running the Store's ingest and delete at several
points; here the real app (its background ingest job, in the app's own process) is killed
mid-upload from a real browser. On disk afterwards the index opens, holds only whole
documents and passes the consistency check; after a restart the interrupted file uploads
again and is ingested whole.
"""

from __future__ import annotations

import os
import signal

import pytest

from lib.index.store import Store
from lib.samples import sample_files
from tests.bad_batch import one_line
from tests.browser.conftest import AppServer, assert_no_exception, wait_idle
from tests.browser.uploads import upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~400 chunks embedded twice

BIG = ("interrupted-report.txt", one_line(200_000, seed=16))


def _open_documents(page, server: AppServer) -> None:
    page.goto(f"{server.url}/documents")
    page.get_by_role("heading", name="📄 Documents").wait_for()
    wait_idle(page)


def _whole_and_consistent(server: AppServer, embedder) -> set[str]:
    """The index as it reached the disk: consistent, every document whole; returns the names."""
    store = Store(server.data_dir, embedder)
    try:
        assert store.check_consistency() == []
        for record in store.documents():
            assert len(store.chunks_of(record.doc_id)) == record.chunks, record.name
        return {r.name for r in store.documents()}
    finally:
        store.close()


def test_sigkill_of_the_app_mid_ingest_loses_nothing_and_the_file_uploads_again(
        tmp_path, page, embedder):
    server = AppServer(tmp_path / "data")
    server.start()
    try:
        _open_documents(page, server)
        page.get_by_role("button", name="📦 Load sample documents").click()
        page.get_by_text("Last upload (the sample documents): ").wait_for(timeout=600_000)
        samples = {n for n, _ in sample_files()}

        upload(page, [BIG])
        page.get_by_text("chunks embedded").wait_for(timeout=120_000)
        os.killpg(server.proc.pid, signal.SIGKILL)  # the app, not a child: no cleanup runs
        server.proc.wait()
        server.proc = None

        names = _whole_and_consistent(server, embedder)
        assert samples <= names and names <= samples | {BIG[0]}

        server.start()  # opens the index (and repairs leftovers) as a restart would
        _open_documents(page, server)
        assert_no_exception(page)
        upload(page, [BIG])
        line = page.get_by_text("Last upload (1 file): ")
        line.wait_for(timeout=600_000)
        wait_idle(page)
        text = line.inner_text()
        assert ("1 ingested" in text) or (BIG[0] in names and "1 duplicate" in text), text
        assert_no_exception(page)
        server.stop()
        assert _whole_and_consistent(server, embedder) == samples | {BIG[0]}
    finally:
        server.stop()
