"""Ingestion as a background job: real Store (Chroma + BM25), real embedder; cancel and queue.

The embedder is wrapped only to *time* a cancel: it asks the job to stop when it sees a
chosen text, then embeds for real; the pipeline must notice at its next safe point.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lib.index.store import Store
from lib.ingest import pipeline
from lib.ingest.job import IngestJob, eta_seconds, outcome_line, submit
from lib.ingest.pipeline import FileProgress
from tests.test_store import PoisonedEmbedder, doc

QUERIES = ("monthly fee of the metal card", "international transfer currencies", "savings interest")


class CancellingEmbedder(PoisonedEmbedder):
    """The real embedder; on a text containing `trigger` it first calls `on_trigger`."""

    def __init__(self, inner, trigger: str = "", on_trigger=lambda: None):
        super().__init__(inner)
        self.trigger, self.on_trigger = trigger, on_trigger
        self.gate = threading.Event()
        self.gate.set()

    def embed(self, texts, progress=None):
        if self.trigger and any(self.trigger in t for t in texts):
            self.on_trigger()
        self.gate.wait(60)
        return super().embed(texts, progress)


def state_of(store: Store) -> dict:
    """What a user can observe of the index: documents, chunk count, search results."""
    vectors = {q: store.vector_query(store.embedder.embed_query(q), 10) for q in QUERIES}
    return {
        "docs": sorted((r.doc_id, r.name, r.chunks) for r in store.documents()),
        "n_chunks": store.n_chunks,
        "vector": {q: [(i, round(s, 5)) for i, s in hits] for q, hits in vectors.items()},
        "keyword": {q: [(i, round(s, 5)) for i, s in store.keyword_query(q, 10)] for q in QUERIES},
    }


def big_text(topic: str, n: int = 40) -> bytes:
    """A document of several chunks whose text names its topic (to trigger on)."""
    return doc(topic, n).replace(b"Part", f"TRIGGER-{topic} part".encode())


@pytest.fixture
def one_doc_per_group(monkeypatch):
    """Each document its own embedding group, so a cancel falls between documents."""
    monkeypatch.setattr(pipeline, "GROUP_CHUNKS", 1)


@pytest.mark.timeout(180)
def test_cancel_during_the_first_file_leaves_the_store_identical(sample_store, one_doc_per_group):
    before = state_of(sample_store)
    job: IngestJob | None = None
    sample_store.embedder = CancellingEmbedder(sample_store.embedder, "TRIGGER-card",
                                               lambda: job.cancel())
    job, batch = submit(sample_store, [("card.txt", big_text("card")), ("fx.txt", big_text("fx"))],
                        owner="alice")
    assert job.wait(timeout=120) == "cancelled"
    (outcome,) = job.snapshot().detail.finished
    assert outcome.batch == batch and [r.status for r in outcome.results] == ["cancelled"] * 2
    assert outcome_line(outcome).startswith("Cancelled: nothing stayed in the index; card.txt, fx.txt not added")
    assert state_of(sample_store) == before
    assert sample_store.check_consistency() == []
    data_dir = sample_store.data_dir
    sample_store.close()
    reopened = Store(data_dir, sample_store.embedder.inner)  # and so is what reached the disk
    assert state_of(reopened) == before and reopened.check_consistency() == []


@pytest.mark.timeout(180)
def test_cancel_keeps_the_files_committed_before_it_and_leaves_out_the_rest(
        sample_store, one_doc_per_group):
    before = state_of(sample_store)
    job: IngestJob | None = None
    sample_store.embedder = CancellingEmbedder(sample_store.embedder, "TRIGGER-fx",
                                               lambda: job.cancel())
    files = [("card.txt", big_text("card")), ("fx.txt", big_text("fx")), ("api.txt", big_text("api"))]
    job, _ = submit(sample_store, files)
    assert job.wait(timeout=120) == "cancelled"
    (outcome,) = job.snapshot().detail.finished
    by_name = {r.name: r for r in outcome.results}
    assert by_name["card.txt"].status == "ingested"
    assert by_name["fx.txt"].status == by_name["api.txt"].status == "cancelled"
    assert outcome_line(outcome).startswith("Cancelled: card.txt stayed in the index; fx.txt, api.txt not added")
    docs = {r.name for r in sample_store.documents()}
    assert "card.txt" in docs and not docs & {"fx.txt", "api.txt"}
    assert sample_store.n_chunks == before["n_chunks"] + by_name["card.txt"].chunks
    assert sample_store.check_consistency() == []
    assert not {c.doc_name for c in sample_store.chunks()} & {"fx.txt", "api.txt"}


@pytest.mark.timeout(180)
def test_a_second_upload_queues_behind_the_first_and_both_are_indexed(isolated_data_dir, embedder):
    gated = CancellingEmbedder(embedder)
    gated.gate.clear()  # hold the first batch inside the embedder
    store = Store(isolated_data_dir, gated)
    first, _ = submit(store, [("card.txt", doc("card"))], owner="alice")
    second, b = submit(store, [("fx.txt", doc("fx")), ("savings.txt", doc("savings"))], owner="bob")
    assert second is first, "the running job took the second upload"
    snap = first.snapshot()
    assert snap.running and snap.total == 3 and [q.id for q in snap.detail.queued] == [b.id]
    _, c = submit(store, [("api.txt", doc("api"))], owner="carol")
    assert first.cancel_batch(c.id), "a queued batch is dropped at once"
    gated.gate.set()
    assert first.wait(timeout=120) == "done"
    outcomes = {o.batch.owner: o for o in first.snapshot().detail.finished}
    assert outcomes["alice"].count("ingested") == 1 and outcomes["bob"].count("ingested") == 2
    assert [r.status for r in outcomes["carol"].results] == ["cancelled"]
    assert {r.name for r in store.documents()} == {"card.txt", "fx.txt", "savings.txt"}
    assert store.check_consistency() == []
    later, _ = submit(store, [("api.txt", doc("api"))])  # a finished job is replaced
    assert later is not first and later.wait(timeout=120) == "done"


def test_the_eta_waits_for_evidence_then_divides_chunks_left_by_the_rate():
    def at(done: int, seconds: float, phase: str = "embedding") -> FileProgress:
        return FileProgress(phase, "a.txt", 1, 1, 1, done, 1_000, seconds)

    assert eta_seconds(None) is None
    assert eta_seconds(at(32, 1.0)) is None  # too few chunks and too soon: "estimating…"
    assert eta_seconds(at(200, 1.0)) is None
    assert eta_seconds(at(100, 4.0)) == pytest.approx(900 / 25)
    assert eta_seconds(at(100, 4.0, phase="reading")) is None
    # With characters reported, the rate is characters per second (short chunks went first).
    by_chars = FileProgress("embedding", "a.txt", 1, 1, 1, 100, 1_000, 4.0, 10_000, 210_000)
    assert eta_seconds(by_chars) == pytest.approx(200_000 / 2_500)


def test_progress_names_the_file_and_counts_chunks(isolated_data_dir, embedder, one_doc_per_group):
    seen: list[FileProgress] = []
    store = Store(isolated_data_dir, embedder)
    hooks = pipeline.IngestHooks(watch=seen.append)
    results = store.ingest([("card.txt", doc("card", 30)), ("fx.txt", doc("fx", 30))], hooks=hooks)
    embedding = [p for p in seen if p.phase == "embedding"]
    assert {p.file for p in embedding} == {"card.txt", "fx.txt"}
    assert {(p.first, p.n_files) for p in embedding} == {(1, 2), (2, 2)}
    total = sum(r.chunks for r in results)
    assert embedding[-1].chunks_done == embedding[-1].chunks_total == total
    chars = sum(len(c.text) for c in store.chunks())
    assert embedding[-1].chars_done == embedding[-1].chars_total == chars
    assert np.all(np.diff([p.chars_done for p in embedding]) >= 0)
    assert np.all(np.diff([p.chunks_done for p in embedding]) >= 0)
    assert seen[-1].phase == "done"
