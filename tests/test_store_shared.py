"""Server mode with a shared collection: two Stores (two data dirs) on one real `chroma run`.

In one process for speed; tests/test_two_instances.py runs them as two processes at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from lib.config import ChromaServer
from lib.index import shared
from lib.index.server_catalog import ServerCatalog
from lib.index.store import Store
from lib.types import Chunk, ChunkSettings, RagLabError
from tests.test_store import doc, files


@pytest.fixture
def server(chroma_server: ChromaServer) -> ChromaServer:
    """The session's server with a collection of this test's own, shared by its Stores."""
    return ChromaServer(chroma_server.host, chroma_server.port,
                        collection=f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def pair(tmp_path: Path, embedder, server: ChromaServer):
    a = Store(tmp_path / "a", embedder, chroma_server=server)
    b = Store(tmp_path / "b", embedder, chroma_server=server)
    yield a, b
    a.close()
    b.close()


def names(store: Store) -> set[str]:
    return {d.name for d in store.documents()}


def test_each_instance_sees_the_others_writes(pair, embedder, monkeypatch) -> None:
    a, b = pair
    a.ingest(files("savings", "card"))
    monkeypatch.setattr(shared, "SYNC_INTERVAL_S", 3600.0)
    assert names(b) == set()  # within the sync interval: the local copy answers
    monkeypatch.setattr(shared, "SYNC_INTERVAL_S", 0.0)
    assert names(b) == {"savings.txt", "card.txt"} and b.n_chunks == a.n_chunks
    assert b.chunk(b.keyword_query("OB-7731", 1)[0][0]).doc_name == "card.txt"
    top = b.vector_query(embedder.embed_query("steel debit card lounge"), 1)[0][0]
    assert b.chunk(top).doc_name == "card.txt"
    assert b.ingest(files("card"))[0].status == "duplicate"  # checked against a's documents
    card = next(d.doc_id for d in b.documents() if d.name == "card.txt")
    assert b.delete(card)
    assert names(a) == {"savings.txt"} and a.keyword_query("lounge", 5) == []
    assert a.delete(card) is False
    assert a.check_consistency() == [] and b.check_consistency() == []


def test_a_reindex_or_clear_elsewhere_is_picked_up(pair, monkeypatch) -> None:
    a, b = pair
    monkeypatch.setattr(shared, "SYNC_INTERVAL_S", 0.0)
    a.ingest([(f"{t}.txt", doc(t, 12)) for t in ("savings", "card")])
    before = b.n_chunks
    a.reindex(ChunkSettings(size=40, overlap=0))
    assert b.chunk_settings == ChunkSettings(size=40, overlap=0) or b.n_chunks  # sync on read
    assert b.n_chunks == a.n_chunks > before and b.chunk_settings == a.chunk_settings
    assert {c.id: c.text for c in b.chunks()} == {c.id: c.text for c in a.chunks()}
    b.clear()
    assert a.n_documents == 0 and a.n_chunks == 0 and a.check_consistency() == []


def test_a_half_written_document_is_invisible_and_left_alone_while_fresh(pair, embedder,
                                                                        monkeypatch) -> None:
    a, b = pair
    a.ingest(files("savings"))
    catalog = ServerCatalog(a._chroma.client, a._chroma.name)
    ghost = Chunk("abababababababab-00000", "abababababababab", "ghost.txt", None, None, 0, 5,
                  "ghost text of a document still being written")
    catalog.begin([ghost.doc_id])  # as another instance does before writing chunks
    a._chroma.add([ghost], embedder.embed([ghost.text]))
    b.refresh()
    assert names(b) == {"savings.txt"} and b.keyword_query("ghost", 5) == []
    assert b.check_consistency() == []  # in flight: not a problem
    b.repair()
    assert ghost.id in b._chroma.ids()  # not removed under its writer's feet
    monkeypatch.setattr(shared, "ORPHAN_GRACE_S", 0.0)  # its writer died long ago
    time.sleep(0.01)
    assert any("half-written" in p for p in b.check_consistency())
    assert any("no registered document" in p for p in b.check_consistency())
    b.repair()
    assert ghost.id not in b._chroma.ids() and catalog.pending() == {}
    assert b.check_consistency() == [] and a.check_consistency() == []


def test_reads_ask_the_server_at_most_once_per_interval(pair, monkeypatch) -> None:
    a, _ = pair
    a.ingest(files("savings"))
    calls = []
    stamp = a._shared.stamp
    monkeypatch.setattr(a._shared, "stamp", lambda: calls.append(1) or stamp())
    a._checked_at = time.monotonic()
    for _ in range(50):  # what a page rerun reads
        a.n_documents, a.n_chunks, a.documents(), a.documents_page(0, 10)
    assert calls == []
    a._checked_at -= shared.SYNC_INTERVAL_S
    a.n_chunks
    assert len(calls) == 1


def test_an_embedded_index_moves_to_a_new_shared_index(tmp_path: Path, embedder,
                                                       server: ChromaServer) -> None:
    local = Store(tmp_path / "d", embedder)
    local.ingest(files("savings", "fx"))
    local.close()
    moved = Store(tmp_path / "d", embedder, chroma_server=server)
    other = Store(tmp_path / "e", embedder, chroma_server=server)
    try:
        assert names(moved) == names(other) == {"savings.txt", "fx.txt"}
        assert other.parsed_document(other.documents()[0].doc_id) is not None
        assert other.check_consistency() == []
    finally:
        moved.close()
        other.close()
    again = Store(tmp_path / "d", embedder)  # the embedded index is still there, untouched
    assert names(again) == {"savings.txt", "fx.txt"} and again.check_consistency() == []
    again.close()


def test_a_bad_shared_collection_name_is_one_readable_error(tmp_path: Path, embedder,
                                                            chroma_server: ChromaServer) -> None:
    bad = ChromaServer(chroma_server.host, chroma_server.port, collection="no spaces!")
    with pytest.raises(RagLabError) as info:
        Store(tmp_path / "x", embedder, chroma_server=bad)
    assert "RAGLAB_CHROMA_COLLECTION" in info.value.reason and "\n" not in info.value.reason


def log_catalogs(store: Store, n: int = 2) -> list[ServerCatalog]:
    """`n` catalogs of the store's shared index, as n other instances hold them."""
    return [ServerCatalog(store._chroma.client, store._chroma.name) for _ in range(n)]


def test_the_change_log_is_compacted_and_its_stamp_never_repeats(pair, monkeypatch) -> None:
    from lib.index import server_catalog

    monkeypatch.setattr(server_catalog, "COMPACT_AT", 4)
    a, _ = pair
    one, two = log_catalogs(a)
    stamps = [one.stamp()]
    for n in range(23):
        (one if n % 3 else two).bump("test")
        stamps.append(two.stamp())
    assert stamps == list(range(stamps[0], stamps[0] + 24))  # +1 per change, as a count was
    assert one._log.count() <= 5  # compacted: the log no longer grows with every change
    # A compactor that died after writing its base row: the stamp keeps its value, and the
    # next compaction deletes what that base row stands for.
    rows = one._log_rows()
    one._log.add(ids=[server_catalog.BASE + "dead"], embeddings=[[1.0]],
                 documents=[json.dumps(sorted(server_catalog._counted(rows)))],
                 metadatas=[{"op": "base", "worth": server_catalog._stamp(rows), "at": 0.0}])
    assert two.stamp() == stamps[-1]
    two.compact()
    assert two.stamp() == stamps[-1] and one._log.count() == 1


def test_concurrent_writers_and_compactors_never_move_the_stamp_back(pair, monkeypatch) -> None:
    from lib.index import server_catalog

    monkeypatch.setattr(server_catalog, "COMPACT_AT", 3)
    a, _ = pair
    writers, reader = log_catalogs(a, 2), log_catalogs(a, 1)[0]
    start, seen, errors = reader.stamp(), [], []
    done = threading.Event()

    def write(catalog: ServerCatalog) -> None:
        try:
            for _ in range(15):
                catalog.bump("test")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            seen.append(reader.stamp())

    threads = [threading.Thread(target=write, args=(c,)) for c in writers]
    watcher = threading.Thread(target=read)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert not errors
    assert seen == sorted(seen)  # never back, so never a value seen before a change
    assert reader.stamp() == start + 30 and len(seen) > 5  # also when both compact at once
    assert reader._log.count() <= 4


def test_an_instance_syncs_correctly_across_compactions(pair, monkeypatch) -> None:
    from lib.index import server_catalog

    monkeypatch.setattr(server_catalog, "COMPACT_AT", 3)
    monkeypatch.setattr(shared, "SYNC_INTERVAL_S", 0.0)
    a, b = pair
    a.ingest(files("savings"))
    assert names(b) == {"savings.txt"}  # b has synced at a stamp
    for topic in ("card", "fx", "api"):  # one change each: compactions in between
        a.ingest(files(topic))
    fx = next(d.doc_id for d in a.documents() if d.name == "fx.txt")
    a.delete(fx)
    assert a._shared._log.count() <= 4
    assert names(b) == names(a) == {"savings.txt", "card.txt", "api.txt"}
    assert {c.id for c in b.chunks()} == {c.id for c in a.chunks()}
    assert b.chunk(b.keyword_query("v2.3.1", 1)[0][0]).doc_name == "api.txt"
    assert b.keyword_query("ISO-20022", 5) == []
    b.ingest(files("fx"))
    assert names(a) == {"savings.txt", "card.txt", "api.txt", "fx.txt"}
    assert a.check_consistency() == [] and b.check_consistency() == []
