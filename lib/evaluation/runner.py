"""Run labelled queries through the app's own search and score each method per document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lib.evaluation.metrics import Gain, mean_metrics, query_metrics
from lib.evaluation.report import Metrics, QueryOutcome
from lib.retrieval.fusion import FusionMode, FusionSettings, fuse, weighted_exact
from lib.retrieval.search import ExactScores, Method, SearchIndex, search
from lib.types import Chunk, Hit, Progress

DocKey = Callable[[Chunk], str]
AGGREGATION = "max"  # a document's score is its best chunk's


def beir_doc_key(chunk: Chunk) -> str:
    """BEIR corpus ids are the chunks' doc_id."""
    return chunk.doc_id


def app_doc_key(chunk: Chunk) -> str:
    """The app's qrels name documents by file name."""
    return chunk.doc_name


def doc_ranking(hits: Sequence[Hit], doc_key: DocKey) -> list[tuple[str, float]]:
    """Chunk hits -> documents, each scored by its best (first-ranked) chunk."""
    seen: dict[str, float] = {}
    for hit in hits:
        seen.setdefault(doc_key(hit.chunk), hit.score)
    return list(seen.items())


@dataclass(frozen=True)
class EvalConfig:
    """What to run: methods, cut-off k, fusion settings, chunk candidates per method."""

    methods: tuple[str, ...] = ("keyword", "vector", "hybrid")
    k: int = 10
    fusion: FusionSettings = field(default_factory=FusionSettings)
    candidates: int = 0  # chunks per method and query; 0 = max(fusion.depth, 5 * k)
    gain: Gain = "exponential"

    @property
    def n_candidates(self) -> int:
        # 5 * k chunks leave room for k distinct documents when documents have several
        # chunks; never fewer than fusion.depth, so hybrid fuses exactly as the app does.
        return self.candidates or max(self.fusion.depth, 5 * self.k)


def evaluate_index(
    index: SearchIndex,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    config: EvalConfig = EvalConfig(),
    doc_key: DocKey = beir_doc_key,
    progress: Progress | None = None,
) -> tuple[dict[str, dict[str, float]], list[QueryOutcome]]:
    """Search every judged query with each method; score the document rankings.

    Args:
        index: any SearchIndex (the app's Store, or a MemoryIndex over a BEIR corpus).
        queries: query id -> text (only ids with qrels are run).
        qrels: query id -> document id -> grade.
        config: methods, k, fusion settings, candidates per method.
        doc_key: maps a chunk to the document id the qrels use.
        progress: called with (fraction done, label).
    Returns:
        (method -> mean metrics, per-query outcomes).
    """
    ids = [q for q in qrels if q in queries and any(g >= 1 for g in qrels[q].values())]
    outcomes, scores = [], []
    for n, qid in enumerate(ids):
        ranked, labels, metrics = {}, {}, {}
        for method in config.methods:
            hits = search(
                index, queries[qid], Method.from_str(method), config.n_candidates, config.fusion
            )
            docs = [d for d, _ in doc_ranking(hits, doc_key)]
            ranked[method] = tuple(docs[: config.k])
            labels.update(_labels(hits, doc_key, set(ranked[method])))
            metrics[method] = query_metrics(docs, qrels[qid], config.k, config.gain)
        scores.append(metrics)
        outcomes.append(
            QueryOutcome(
                qid,
                queries[qid],
                dict(qrels[qid]),
                ranked,
                {m: Metrics.from_scores(v, config.k) for m, v in metrics.items()},
                labels,
            )
        )
        if progress is not None and (n % 10 == 9 or n + 1 == len(ids)):
            progress((n + 1) / len(ids), f"query {n + 1}/{len(ids)}")
    means = {m: mean_metrics([q[m] for q in scores]) for m in config.methods}
    return means, outcomes


def _labels(hits: Sequence[Hit], doc_key: DocKey, wanted: set[str]) -> dict[str, str]:
    """Readable names for the shown documents (BEIR ids are numbers; titles are not)."""
    return {
        doc_key(h.chunk): h.chunk.doc_name[:120]
        for h in hits
        if doc_key(h.chunk) in wanted and h.chunk.doc_name != doc_key(h.chunk)
    }


def _refuse(
    index: SearchIndex,
    query: str,
    embedding: np.ndarray | None,
    vector: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    fusion: FusionSettings,
) -> list[tuple[str, float]]:
    """Fuse the candidate lists exactly as hybrid_search would for these settings."""
    if fusion.mode is not FusionMode.WEIGHTED or embedding is None:
        return fuse(vector, keyword, fusion)
    assert isinstance(index, ExactScores)
    best: dict[str, int] = {}  # candidate -> best rank in either list (hybrid_search's order)
    for ranked in (vector, keyword):
        for rank, (doc, _) in enumerate(ranked):
            best[doc] = min(best.get(doc, rank), rank)
    union = sorted(best, key=best.__getitem__)
    v = index.vector_scores(embedding, union)
    kw = index.keyword_scores(query, union)
    return weighted_exact(v, kw, fusion.alpha, fusion.normalization, order=union)


def raw_lists(
    index: SearchIndex, query: str, depth: int
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The vector and keyword candidate lists hybrid search fuses (for sweeps)."""
    if not any(ch.isalnum() for ch in query):
        return [], []
    vector = index.vector_query(index.embedder.embed_query(query), depth)
    return vector, index.keyword_query(query, depth)


def sweep(
    index: SearchIndex,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    grid: Sequence[FusionSettings],
    config: EvalConfig = EvalConfig(),
    doc_key: DocKey = beir_doc_key,
    progress: Progress | None = None,
) -> list[dict[str, float]]:
    """Hybrid mean metrics for each fusion setting in `grid` (see sweep_per_query)."""
    per_point = sweep_per_query(index, queries, qrels, grid, config, doc_key, progress)
    return [mean_metrics(points) for points in per_point]


def sweep_per_query(
    index: SearchIndex,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    grid: Sequence[FusionSettings],
    config: EvalConfig = EvalConfig(),
    doc_key: DocKey = beir_doc_key,
    progress: Progress | None = None,
) -> list[list[dict[str, float]]]:
    """Hybrid per-query metrics for each fusion setting in `grid`, retrieving each query once.

    Re-fusing the same candidate lists is what hybrid_search does internally
    (fuse(vector top-depth, keyword top-depth); weighted fusion on an index that scores
    any document exactly scores the union of both lists instead), so each point equals a
    full run. Queries come in the same order at every point (paired tests compare points).
    """
    ids = [q for q in qrels if q in queries and any(g >= 1 for g in qrels[q].values())]
    per_point: list[list[dict[str, float]]] = [[] for _ in grid]
    for n, qid in enumerate(ids):
        depth = max([f.depth for f in grid] + [config.n_candidates])
        vector, keyword = raw_lists(index, queries[qid], depth)
        exact = isinstance(index, ExactScores) and bool(vector or keyword)
        embedding = index.embedder.embed_query(queries[qid]) if exact else None
        for i, fusion in enumerate(grid):
            d = max(fusion.depth, config.n_candidates)
            fused = _refuse(index, queries[qid], embedding, vector[:d], keyword[:d], fusion)
            fused = fused[: config.n_candidates]
            hits = [Hit(index.chunk(c), s, r, "hybrid") for r, (c, s) in enumerate(fused, 1)]
            docs = [doc for doc, _ in doc_ranking(hits, doc_key)]
            per_point[i].append(query_metrics(docs, qrels[qid], config.k, config.gain))
        if progress is not None and (n % 10 == 9 or n + 1 == len(ids)):
            progress((n + 1) / len(ids), f"sweep {n + 1}/{len(ids)}")
    return per_point
