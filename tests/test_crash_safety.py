"""SIGKILL during an ingest or a delete: on reopen the index is consistent and holds only
whole documents, and the interrupted files can be uploaded again (issue 15).

Real subprocesses (tests/crash_child.py) write to the data dir and are killed at each
step of the Store's write order; this process then opens the same dir, as the app does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lib.config import PROJECT_ROOT
from lib.index.store import Store
from lib.ingest.chunking import doc_id_for
from tests.test_store import doc

pytestmark = pytest.mark.slow  # a dozen subprocesses, each loading Chroma and the embedder

BASELINE = ("savings.txt", doc("savings"))
BATCH = [("card.txt", doc("card")), ("fx.txt", doc("fx"))]
UNIQUE = {"savings.txt": "withdraw", "card.txt": "lounge", "fx.txt": "currencies"}


def child(data_dir: Path, action: str, point: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(data_dir), action,
                             point, *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def killed(proc: subprocess.Popen[str]) -> str:
    """Wait for a child that must die by SIGKILL; its stdout."""
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err[-2000:])
    return out


def baseline(data_dir: Path, embedder, tmp_path: Path) -> list[Path]:
    """An index holding one document, and the batch's files on disk."""
    store = Store(data_dir, embedder)
    [result] = store.ingest([BASELINE])
    assert result.status == "ingested"
    store.close()
    paths = []
    for name, data in BATCH:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    return paths


def assert_whole(store: Store) -> set[str]:
    """The consistency check passes and every document is complete and searchable."""
    assert store.check_consistency() == []
    names = set()
    for record in store.documents():
        assert len(store.chunks_of(record.doc_id)) == record.chunks > 0
        hits = store.keyword_query(UNIQUE[record.name], 5)
        assert any(h.startswith(record.doc_id) for h, _ in hits), record.name
        names.add(record.name)
    top = store.vector_query(store.embedder.embed_query("steel debit card lounge"), 3)
    assert all(i in {c.id for c in store.chunks()} for i, _ in top)
    return names


@pytest.mark.parametrize("point, landed", [
    ("embedded", set()),  # vectors computed, nothing written
    ("chroma-added", set()),  # vectors in Chroma, nothing else
    ("pages-saved", set()),  # + the parsed pages of an unregistered document
    ("chroma-added#2", set()),  # the first document committed in memory only
    ("table-saved", set()),  # chunk table on disk ahead of the registry
    ("keyword-saved", set()),  # keyword index too
    ("registry-saved", {"card.txt", "fx.txt"}),  # the registry landed: both are whole
])
def test_kill_during_ingest_leaves_whole_documents_and_the_files_upload_again(
        point, landed, isolated_data_dir, embedder, tmp_path):
    paths = baseline(isolated_data_dir, embedder, tmp_path)
    killed(child(isolated_data_dir, "ingest", point, *map(str, paths)))
    store = Store(isolated_data_dir, embedder)  # opening checks and repairs
    assert assert_whole(store) == {"savings.txt", *landed}
    results = store.ingest(BATCH)
    expected = "duplicate" if landed else "ingested"
    assert [r.status for r in results] == [expected, expected], results
    assert assert_whole(store) == {"savings.txt", "card.txt", "fx.txt"}
    store.close()


def test_an_outside_kill_mid_embedding_leaves_the_index_as_it_was(isolated_data_dir, embedder,
                                                                  tmp_path):
    paths = baseline(isolated_data_dir, embedder, tmp_path)
    proc = child(isolated_data_dir, "ingest", "none", *map(str, paths))
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    for line in proc.stdout:  # kill as soon as embedding has started
        if "Embedding" in line or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    store = Store(isolated_data_dir, embedder)
    assert assert_whole(store) <= {"savings.txt", "card.txt", "fx.txt"}
    assert "savings.txt" in {r.name for r in store.documents()}
    assert {r.status for r in store.ingest(BATCH)} <= {"ingested", "duplicate"}
    assert assert_whole(store) == {"savings.txt", "card.txt", "fx.txt"}
    store.close()


@pytest.mark.parametrize("point", ["registry-saved", "chroma-deleted", "table-saved"])
def test_kill_during_delete_leaves_the_document_gone_and_uploadable(point, isolated_data_dir,
                                                                    embedder, tmp_path):
    baseline(isolated_data_dir, embedder, tmp_path)
    doc_id = doc_id_for(__import__("hashlib").sha256(BASELINE[1]).hexdigest())
    killed(child(isolated_data_dir, "delete", point, doc_id))
    store = Store(isolated_data_dir, embedder)
    assert assert_whole(store) == set() and store.n_chunks == 0  # the registry said: deleted
    [result] = store.ingest([BASELINE])
    assert result.status == "ingested"
    assert assert_whole(store) == {"savings.txt"}
    store.close()
