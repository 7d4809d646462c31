"""Runs over a real in-memory index: best-chunk aggregation, hybrid = the app's search, sweeps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lib.evaluation.api import sweep_grid
from lib.evaluation.beir import Document
from lib.evaluation.corpus import build_index, document_chunks
from lib.evaluation.runner import EvalConfig, doc_ranking, evaluate_index, sweep
from lib.retrieval.fusion import FusionMode, FusionSettings
from lib.retrieval.search import hybrid_search
from lib.types import Chunk, ChunkSettings, Hit

LONG = " ".join(f"Sentence {i} is filler about the history of ceramic tiles." for i in range(40))
DOCS = [
    Document(
        "a",
        "Glacier melt",
        LONG + " Glaciers lose ice when summers warm and the meltwater raises seas.",
    ),
    Document(
        "b", "Coffee roasting", "Roasting turns green coffee beans brown and bitter through heat."
    ),
    Document("c", "Sailing knots", "A bowline makes a fixed loop at the end of a rope."),
    Document("d", "", ""),
]
QUERIES = {
    "q1": "glaciers losing ice in warm summers",
    "q2": "how are coffee beans roasted",
    "q3": "knot for a fixed loop in a rope",
}
QRELS = {"q1": {"a": 1}, "q2": {"b": 2, "c": 0}, "q3": {"c": 1}}


def _hit(chunk_id: str, doc: str, score: float, rank: int) -> Hit:
    chunk = Chunk(chunk_id, doc, doc, None, None, 0, 1, "x")
    return Hit(chunk, score, rank, "hybrid")


def test_doc_ranking_keeps_each_documents_best_chunk():
    hits = [_hit("a-1", "A", 0.9, 1), _hit("b-0", "B", 0.8, 2), _hit("a-0", "A", 0.7, 3)]
    assert doc_ranking(hits, lambda c: c.doc_id) == [("A", 0.9), ("B", 0.8)]


def test_chunks_carry_the_title_and_empty_documents_are_skipped():
    chunks = document_chunks(DOCS, ChunkSettings(64, 8))
    by_doc = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    assert set(by_doc) == {"a", "b", "c"} and len(by_doc["a"]) > 3
    assert all(c.text.startswith("Glacier melt ") for c in by_doc["a"])
    assert len(document_chunks(DOCS, None)) == 3


@pytest.fixture(scope="module")
def index(embedder, tmp_path_factory):
    return build_index(DOCS, embedder, ChunkSettings(64, 8), tmp_path_factory.mktemp("cache"))


def test_every_method_finds_each_document_once(index):
    means, outcomes = evaluate_index(index, QUERIES, QRELS, EvalConfig(k=3))
    for outcome in outcomes:
        for method, docs in outcome.ranked.items():
            assert len(docs) == len(set(docs)) <= 3, (method, docs)
    assert means["hybrid"]["recall@3"] == 1.0 and means["vector"]["mrr@3"] == 1.0
    assert outcomes[0].labels["a"] == "Glacier melt"


def test_hybrid_is_the_apps_hybrid_search(index):
    config = EvalConfig(methods=("hybrid",), k=3)
    _, outcomes = evaluate_index(index, QUERIES, QRELS, config)
    hits = hybrid_search(index, QUERIES["q1"], config.n_candidates, config.fusion)
    assert outcomes[0].ranked["hybrid"][0] == hits[0].chunk.doc_id


@pytest.mark.parametrize("mode", [FusionMode.RRF, FusionMode.WEIGHTED])
def test_sweep_point_equals_a_full_run(index, mode):
    base = FusionSettings(mode=mode, alpha=0.3, rrf_k=10, normalization="zscore")
    config = EvalConfig(methods=("hybrid",), k=3, fusion=base)
    means, _ = evaluate_index(index, QUERIES, QRELS, config)
    points = sweep(index, QUERIES, QRELS, [base, replace(base, depth=2)], config)
    assert points[0] == pytest.approx(means["hybrid"])


def test_sweep_grids():
    assert [f.alpha for f in sweep_grid("alpha", FusionSettings())][::5] == [0.0, 0.5, 1.0]
    assert all(f.mode is FusionMode.RRF for f in sweep_grid("rrf-k", FusionSettings()))


def test_document_index_scores_documents_by_their_best_chunk(index, embedder):
    query = embedder.embed_query(QUERIES["q1"])
    chunks = document_chunks(DOCS, ChunkSettings(64, 8))
    vectors = embedder.embed([c.text for c in chunks])
    best_a = max(float(v @ query) for c, v in zip(chunks, vectors) if c.doc_id == "a")
    ranked = dict(index.vector_query(query, 10))
    assert set(ranked) == {"a", "b", "c"}  # documents, not chunks; the empty one is absent
    assert ranked["a"] == pytest.approx(best_a, abs=1e-5)
    assert index.chunk("a").text.startswith("Glacier melt") and index.n_chunks == len(chunks)


def test_keyword_side_ranks_whole_documents_with_the_title(index):
    ranked = index.keyword_query("coffee roasting", 10)
    assert ranked[0][0] == "b" and len(ranked) == 1
