"""The persistent Store: real Chroma, real BM25, the real MiniLM embedder.

Every test runs twice: on embedded Chroma in the test's data dir and on a real `chroma run`
server (tests/chroma_server.py); the store's on-disk crash tests are in test_crash_safety.py.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lib.config import ChromaServer
from lib.index.catalog import read_index_info
from lib.index.chroma import ChromaIndex
from lib.index.server_catalog import ServerCatalog
from lib.index.shared import ORPHAN_GRACE_S
from lib.index.store import Store
from lib.retrieval.embeddings import MiniLMEmbedder
from lib.types import Chunk, ChunkSettings, IndexMismatchError, RagLabError
from tests.pdf_factory import make_pdf

TOPICS = {
    "savings": "The Orbit Saver OB-2204 is an easy-access savings account. Interest is paid "
               "monthly and you can withdraw at any time without a penalty. Rates can change.",
    "card": "The Orbit Metal card OB-7731 is a premium debit card made of steel. It costs fifteen "
            "pounds a month and includes worldwide travel insurance and airport lounge access.",
    "fx": "Orbit FX OB-4410 sends international transfers in more than forty currencies. The fee "
          "is 0.4 percent of the amount and payments use ISO-20022 messages.",
    "api": "Release notes: the Open Banking API version v2.3.1 fixes pagination of transaction "
           "lists and adds webhooks for standing orders.",
}


def doc(topic: str, n_paragraphs: int = 3) -> bytes:
    """A generated text document about one topic; paragraphs vary so chunks differ."""
    paras = [f"Part {i + 1}. {TOPICS[topic]} Detail number {i + 1} for {topic}."
             for i in range(n_paragraphs)]
    return "\n\n".join(paras).encode()


def files(*topics: str) -> list[tuple[str, bytes]]:
    return [(f"{t}.txt", doc(t)) for t in topics]


class PoisonedEmbedder:
    """Wraps the real embedder but fails on any text containing POISON (a broken document)."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls = 0

    def embed(self, texts, progress=None):
        self.calls += 1
        if any("POISON" in t for t in texts):
            raise RuntimeError("simulated embedder crash")
        return self.inner.embed(texts, progress)

    def embed_query(self, text):
        return self.inner.embed_query(text)


class RenamedEmbedder(PoisonedEmbedder):
    """The same vectors under another name: stands for a different embedder."""

    def __init__(self, inner, name: str):
        super().__init__(inner)
        self.name = name


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> ChromaServer | None:
    """Where the vectors live: None = embedded Chroma, else the session's real Chroma server."""
    return None if request.param == "embedded" else request.getfixturevalue("chroma_server")


@pytest.fixture
def store(isolated_data_dir: Path, embedder, backend: ChromaServer | None):
    s = Store(isolated_data_dir, embedder, chroma_server=backend)
    yield s
    s.close()


def reopen(store: Store, embedder) -> Store:
    store.close()  # releases Chroma's shared system, so the new Store reads from disk
    return Store(store.data_dir, embedder, chroma_server=store.chroma_server)


def ghost_chunk(doc_id: str) -> Chunk:
    """A chunk no registered document owns (what a crash before the registry save leaves)."""
    return Chunk(f"{doc_id}-00000", doc_id, "ghost.txt", None, None, 0, 5, "ghost")


def top_doc(store: Store, embedder, query: str) -> str:
    chunk_id, _ = store.vector_query(embedder.embed_query(query), 1)[0]
    return store.chunk(chunk_id).doc_name


def test_ingest_indexes_text_and_pdf(store: Store, embedder) -> None:
    pdf = make_pdf([TOPICS["api"], TOPICS["fx"]], sections=["Release notes", "FX"])
    results = store.ingest(files("savings", "card") + [("notes.pdf", pdf)])
    assert [r.status for r in results] == ["ingested"] * 3
    assert store.n_documents == 3 and store.n_chunks == sum(r.chunks for r in results)
    assert store.check_consistency() == []
    assert top_doc(store, embedder, "steel premium debit card with lounge access") == "card.txt"
    pdf_chunks = store.chunks_of(next(d.doc_id for d in store.documents() if d.name == "notes.pdf"))
    assert [c.page for c in pdf_chunks] == [1, 2] and pdf_chunks[0].section == "Release notes"
    parsed = store.parsed_document(pdf_chunks[0].doc_id)
    assert parsed is not None and parsed.name == "notes.pdf" and len(parsed.pages) == 2
    assert store.chunk(store.keyword_query("OB-7731", 1)[0][0]).doc_name == "card.txt"
    sims = [s for _, s in store.vector_query(embedder.embed_query("savings interest"), 10)]
    assert sims == sorted(sims, reverse=True) and -1.0 <= sims[-1] <= sims[0] <= 1.0
    assert store.embedder_name == embedder.name


def test_duplicates_are_detected_across_and_within_batches(store: Store) -> None:
    store.ingest(files("savings"))
    results = store.ingest([("copy.txt", doc("savings")), ("card.txt", doc("card")),
                            ("card again.txt", doc("card"))])
    assert [r.status for r in results] == ["duplicate", "ingested", "duplicate"]
    assert "savings.txt" in results[0].reason and "card.txt" in results[2].reason
    assert store.n_documents == 2 and store.check_consistency() == []


def test_bad_files_are_refused_without_stopping_the_batch(store: Store) -> None:
    progress: list[tuple[float, str]] = []
    results = store.ingest(
        [("a.docx", b"zip"), ("savings.txt", doc("savings")), ("broken.pdf", b"%PDF-1.4 garbage"),
         ("empty.txt", b"   "), ("card.md", b"# Card\n\n" + doc("card"))],
        progress=lambda f, label: progress.append((f, label)),
    )
    assert [r.status for r in results] == ["refused", "ingested", "refused", "refused", "ingested"]
    for r in results:
        assert "\n" not in r.reason and "Traceback" not in r.reason
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0.0 <= fractions[0]
    assert any(label.startswith("Embedding savings.txt") and "/5)" in label
               for _, label in progress)


def test_a_document_that_fails_midway_leaves_no_trace(isolated_data_dir: Path, embedder,
                                                      backend: ChromaServer | None) -> None:
    poisoned = PoisonedEmbedder(embedder)
    store = Store(isolated_data_dir, poisoned, chroma_server=backend)
    batch = files("savings") + [("bad.txt", b"POISON " + doc("card"))] + files("fx")
    results = store.ingest(batch)
    assert [r.status for r in results] == ["ingested", "refused", "ingested"]
    assert "internal error" in results[1].reason and "simulated" not in results[1].reason
    assert poisoned.calls > 1  # the group failed, then each document was tried alone
    assert store.check_consistency() == []
    assert {d.name for d in store.documents()} == {"savings.txt", "fx.txt"}
    assert not any("POISON" in c.text for c in store.chunks())
    assert store.keyword_query("POISON", 5) == []
    store = reopen(store, embedder)
    assert store.check_consistency() == [] and store.n_documents == 2
    assert top_doc(store, embedder, "easy access savings withdrawal") == "savings.txt"
    store.close()


def test_chroma_add_rolls_back_a_failed_batch(isolated_data_dir: Path,
                                              backend: ChromaServer | None) -> None:
    chroma = ChromaIndex(isolated_data_dir / "chroma", backend)
    chroma.max_batch = 2  # so the failure happens in the second Chroma batch
    chunks = [Chunk(f"d-{i:05d}", "d", "d.txt", None, None, 0, 1, "x") for i in range(4)]
    good = np.eye(4, 8, dtype=np.float32)
    chroma.add(chunks[:1], good[:1])
    mixed = [good[1], good[2], np.ones(5, np.float32), np.ones(5, np.float32)]  # wrong dims later
    with pytest.raises(IndexMismatchError):
        chroma.add(chunks[1:], mixed)
    assert chroma.ids() == {"d-00000"}
    chroma.close()


def test_delete_removes_a_document_everywhere(store: Store, embedder) -> None:
    store.ingest(files("savings", "card", "fx"))
    card = next(d for d in store.documents() if d.name == "card.txt")
    assert store.delete(card.doc_id) is True and store.delete(card.doc_id) is False
    assert store.n_documents == 2 and store.chunks_of(card.doc_id) == []
    assert store.keyword_query("OB-7731", 5) == []
    hits = store.vector_query(embedder.embed_query("premium steel debit card"), 10)
    assert all(store.chunk(i).doc_id != card.doc_id for i, _ in hits)
    assert not (store.data_dir / "docs" / f"{card.doc_id}.json").exists()
    assert store.parsed_document(card.doc_id) is None
    assert store.check_consistency() == []
    # the same file can come back after a delete
    assert store.ingest(files("card"))[0].status == "ingested"


def test_reopening_gives_the_same_index(store: Store, embedder) -> None:
    store.ingest(files("savings", "card", "fx", "api"))
    query = embedder.embed_query("international money transfer fee")
    before = (store.documents(), store.chunks(), store.vector_query(query, 5),
              store.keyword_query("transfer fee", 5))
    again = reopen(store, embedder)
    after = (again.documents(), again.chunks(), again.vector_query(query, 5),
             again.keyword_query("transfer fee", 5))
    assert after[:2] == before[:2] and after[3] == before[3]
    assert [i for i, _ in after[2]] == [i for i, _ in before[2]]
    assert np.allclose([s for _, s in after[2]], [s for _, s in before[2]], atol=1e-5)
    assert again.check_consistency() == []
    again.close()


def test_reindex_rechunks_from_stored_pages(store: Store, embedder) -> None:
    store.ingest([(f"{t}.txt", doc(t, 12)) for t in ("savings", "card")])
    before = store.n_chunks
    labels: list[str] = []
    store.reindex(ChunkSettings(size=40, overlap=0), progress=lambda f, label: labels.append(label))
    assert store.chunk_settings == ChunkSettings(size=40, overlap=0)
    assert store.n_chunks > before and store.check_consistency() == []
    assert sum(d.chunks for d in store.documents()) == store.n_chunks and labels[-1] == "Done"
    assert top_doc(store, embedder, "steel card with lounge access") == "card.txt"
    again = reopen(store, embedder)
    assert again.chunk_settings == ChunkSettings(size=40, overlap=0)
    assert again.n_chunks == store.n_chunks
    again.close()


def test_clear_empties_every_index(store: Store, embedder) -> None:
    store.ingest(files("savings", "card"))
    store.clear()
    assert store.n_documents == 0 and store.n_chunks == 0 and store.check_consistency() == []
    assert store.vector_query(embedder.embed_query("card"), 3) == []
    assert store.ingest(files("card"))[0].status == "ingested"


def test_an_index_refuses_another_embedder(store: Store, embedder) -> None:
    store.ingest(files("savings", "card"))
    store.close()
    other = MiniLMEmbedder(variant="int8-shipped")
    with pytest.raises(IndexMismatchError) as info:
        Store(store.data_dir, other, chroma_server=store.chroma_server)
    assert embedder.name in info.value.reason and other.name in info.value.reason
    assert "re-index" in info.value.reason
    assert read_index_info(store.data_dir, store.chroma_server).embedder == embedder.name
    rebuilt = Store.rebuild(store.data_dir, other, chroma_server=store.chroma_server)
    assert rebuilt.embedder_name == other.name and rebuilt.n_documents == 2
    assert rebuilt.check_consistency() == []
    assert top_doc(rebuilt, other, "premium debit card") == "card.txt"
    rebuilt.close()


def test_index_info_reports_the_index_the_data_dir_would_open(store: Store, embedder) -> None:
    server = store.chroma_server
    store.ingest(files("savings", "card"))
    store.close()  # server mode: the local copy is saved on close
    info = read_index_info(store.data_dir, server)
    assert (info.embedder, info.documents, info.chunks) == (embedder.name, 2, store.n_chunks)
    assert info.chunk_settings == store.chunk_settings
    assert info.backend == ("embedded" if server is None else "server")
    if server is not None:  # the data dir holds no embedded index of its own
        assert read_index_info(store.data_dir) is None
        fresh = store.data_dir.parent / "fresh"
        assert read_index_info(fresh, server) is None  # no collection name made by looking
        assert not (fresh / "chroma").exists()


def test_an_empty_index_adopts_a_new_embedder(isolated_data_dir: Path, embedder,
                                              backend: ChromaServer | None) -> None:
    Store(isolated_data_dir, embedder, chroma_server=backend).close()
    other = Store(isolated_data_dir, RenamedEmbedder(embedder, "another-embedder"),
                  chroma_server=backend)
    assert other.embedder_name == "another-embedder"
    other.close()


def test_consistency_check_detects_and_repairs_injected_problems(store: Store, embedder) -> None:
    store.ingest(files("savings", "card"))
    orphan = ghost_chunk("ffffffffffffffff")
    store._chroma.add([orphan], embedder.embed(["ghost"]))  # e.g. a crash before the registry save
    problems = store.check_consistency()
    assert problems and any("Chroma" in p and "no registered document" in p for p in problems)
    store.repair()
    assert store.check_consistency() == []
    # a chunk lost from the keyword index: repair re-embeds its document from the stored pages
    lost = store.chunks()[0]
    store._keyword.remove([lost.id])
    assert any("keyword index lacks 1" in p for p in store.check_consistency())
    store.repair()
    assert store.check_consistency() == [] and store.keyword_query("OB-7731", 1)


def test_opening_repairs_leftovers_of_a_crash(store: Store, embedder) -> None:
    store.ingest(files("savings"))
    orphan = ghost_chunk("eeeeeeeeeeeeeeee")
    store._chroma.add([orphan], embedder.embed(["ghost"]))
    again = reopen(store, embedder)
    assert again.check_consistency() == [] and again.n_documents == 1
    again.close()


def test_an_interrupted_reindex_resumes_on_open(store: Store, embedder) -> None:
    store.ingest([("savings.txt", doc("savings", 12))])
    store.close()
    interrupted = ChunkSettings(size=40, overlap=0)
    if store.chroma_server is None:
        path = store.data_dir / "registry.json"
        raw = json.loads(path.read_text())
        raw["pending_reindex"] = {"size": 40, "overlap": 0}  # as if the app died mid-swap
        path.write_text(json.dumps(raw))
    else:  # the mark lives on the server; an old one means its instance died
        catalog = ServerCatalog(store._chroma.client, store._chroma.name)
        catalog.put_settings(replace(catalog.settings(), pending_reindex=interrupted,
                                     pending_since=time.time() - ORPHAN_GRACE_S - 1))
        catalog.bump("test")
    again = Store(store.data_dir, embedder, chroma_server=store.chroma_server)
    assert again.chunk_settings == interrupted
    assert again.check_consistency() == [] and again.n_chunks == again.documents()[0].chunks
    again.close()


def test_searches_during_an_ingest_only_see_complete_chunks(store: Store, embedder) -> None:
    store.ingest(files("savings"))
    query = embedder.embed_query("card")
    errors: list[BaseException] = []

    def search_loop() -> None:
        try:
            while not done.is_set():
                for chunk_id, _ in store.vector_query(query, 5) + store.keyword_query("card", 5):
                    store.chunk(chunk_id)  # must resolve: no half-added chunks
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    done = threading.Event()
    worker = threading.Thread(target=search_loop)
    worker.start()
    try:
        store.ingest([(f"card{i}.txt", doc("card") + f" copy {i}".encode()) for i in range(6)])
    finally:
        done.set()
        worker.join()
    assert errors == [] and store.check_consistency() == []


def test_a_server_backed_store_keeps_its_vectors_on_the_server(store: Store, embedder,
                                                                backend: ChromaServer | None) -> None:
    store.ingest(files("savings"))
    local_db = store.data_dir / "chroma" / "chroma.sqlite3"
    if backend is None:
        assert store.vector_backend == "embedded Chroma" and local_db.exists()
        return
    assert store.vector_backend == f"Chroma server {backend.label}" and not local_db.exists()
    name = (store.data_dir / "chroma" / "server-collection").read_text()
    other = Store(store.data_dir.parent / "other-data", embedder, chroma_server=backend)
    try:  # another data dir on the same server gets its own, empty collection
        assert other._chroma.name != name and other._chroma.count() == 0
    finally:
        other.close()


def test_an_unreachable_chroma_server_is_one_readable_error(isolated_data_dir: Path,
                                                            embedder) -> None:
    from tests.chroma_server import free_port

    with pytest.raises(RagLabError) as info:
        Store(isolated_data_dir, embedder, chroma_server=ChromaServer("127.0.0.1", free_port()))
    assert "cannot be reached" in info.value.reason and "\n" not in info.value.reason


def test_documents_page_returns_a_slice_and_the_total(store: Store) -> None:
    store.ingest(files("savings", "card", "fx", "api"))
    every = store.documents()
    page, total = store.documents_page(1, 2)
    assert total == 4 and page == every[1:3]
    assert store.documents_page(3, 10) == (every[3:], 4)
    assert store.documents_page(10, 5) == ([], 4) and store.documents_page(0, 0) == ([], 4)
