"""Vector, keyword and hybrid search over any SearchIndex, all returning list[Hit]."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from lib.retrieval.embeddings import Embedder
from lib.retrieval.fusion import FusionMode, FusionSettings, NamedEnum, dedupe, fuse, weighted_exact
from lib.types import Chunk, Hit

__all__ = [
    "FusionMode",
    "FusionSettings",
    "Method",
    "Reranker",
    "SearchIndex",
    "hybrid_search",
    "keyword_search",
    "search",
    "vector_search",
]

_HAS_WORD = re.compile(r"[^\W_]")  # a query with no letter or digit has nothing to search for


class Method(NamedEnum):
    """A retrieval method shown in the Search lab and the evaluation."""

    VECTOR = "vector"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


@runtime_checkable
class SearchIndex(Protocol):
    """What search needs from an index: lib.index.store.Store, or lib.index.memory.MemoryIndex."""

    embedder: Embedder

    def vector_query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def keyword_query(self, query: str, k: int) -> list[tuple[str, float]]: ...

    def chunk(self, chunk_id: str) -> Chunk: ...


@runtime_checkable
class ExactScores(Protocol):
    """An index that can score any chunk exactly; weighted fusion then scores the union."""

    def vector_scores(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]: ...

    def keyword_scores(self, query: str, ids: Sequence[str]) -> dict[str, float]: ...


class Reranker(Protocol):
    """Re-orders hits for a query (lib.retrieval.rerank.RerankClient)."""

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int | None = None) -> list[Hit]: ...


def _searchable(query: str, k: int) -> bool:
    """False for k < 1 and for queries without a single letter or digit."""
    return k > 0 and bool(_HAS_WORD.search(query or ""))


def _hits(
    index: SearchIndex, ranked: Sequence[tuple[str, float]], k: int, method: str
) -> list[Hit]:
    """Ranked (chunk id, score) pairs -> Hits with 1-based ranks, deduped by chunk id.

    An id the chunk table no longer holds (a delete, maybe by another instance, landed
    between the search and this lookup) is skipped, not an error.
    """
    found = []
    for chunk_id, score in dedupe(ranked):
        try:
            chunk = index.chunk(chunk_id)
        except KeyError:
            continue
        found.append((chunk, score))
        if len(found) == k:
            break
    return [Hit(chunk=chunk, score=score, rank=rank, method=str(method))
            for rank, (chunk, score) in enumerate(found, start=1)]


def _embedded(index: SearchIndex, query: str, query_vector: np.ndarray | None) -> np.ndarray:
    """The caller's vector of `query` when given (embedded once per question), else embed it."""
    return index.embedder.embed_query(query) if query_vector is None else query_vector


def vector_search(index: SearchIndex, query: str, k: int,
                  query_vector: np.ndarray | None = None) -> list[Hit]:
    """Top-k chunks by cosine similarity to the embedded query (or to `query_vector`)."""
    if not _searchable(query, k):
        return []
    ranked = index.vector_query(_embedded(index, query, query_vector), k)
    return _hits(index, ranked, k, Method.VECTOR)


def keyword_search(index: SearchIndex, query: str, k: int) -> list[Hit]:
    """Top-k chunks by BM25 (only chunks sharing a term with the query)."""
    if not _searchable(query, k):
        return []
    return _hits(index, index.keyword_query(query, k), k, Method.KEYWORD)


def hybrid_search(
    index: SearchIndex,
    query: str,
    k: int,
    fusion: FusionSettings = FusionSettings(),
    reranker: Reranker | None = None,
    query_vector: np.ndarray | None = None,
) -> list[Hit]:
    """Vector and keyword candidates (depth each) fused, optionally reranked, top k.

    Args:
        index: the index to search.
        query: the user's text.
        k: how many hits to return.
        fusion: mode (RRF / weighted), RRF k, alpha, normalisation, candidate depth.
        reranker: when given, re-orders the fused candidates (method "rerank").
        query_vector: `query` already embedded by the index's embedder (not embedded again).
    Returns:
        Up to k hits, best first, method "hybrid" (or "rerank").
    """
    if not _searchable(query, k):
        return []
    depth = max(fusion.depth, k)
    embedding = _embedded(index, query, query_vector)
    vector = index.vector_query(embedding, depth)
    keyword = index.keyword_query(query, depth)
    if fusion.mode is FusionMode.WEIGHTED and isinstance(index, ExactScores):
        fused = _fuse_exact(index, query, embedding, vector, keyword, fusion.alpha, fusion.normalization)
    else:
        fused = fuse(vector, keyword, fusion)
    if reranker is None:
        return _hits(index, fused, k, Method.HYBRID)
    return reranker.rerank(query, _hits(index, fused, depth, Method.HYBRID), top_n=k)


def _fuse_exact(
    index: ExactScores,
    query: str,
    embedding: np.ndarray,
    vector: list[tuple[str, float]],
    keyword: list[tuple[str, float]],
    alpha: float,
    normalization: str,
) -> list[tuple[str, float]]:
    """Score the union of both candidate lists exactly with both retrievers, then weight."""
    best: dict[str, int] = {}  # chunk id -> best rank in either list, for tie-breaks
    for ranked in (vector, keyword):
        for rank, (chunk_id, _) in enumerate(ranked):
            best[chunk_id] = min(best.get(chunk_id, rank), rank)
    union = sorted(best, key=best.__getitem__)
    v = index.vector_scores(embedding, union)
    kw = index.keyword_scores(query, union)
    return weighted_exact(v, kw, alpha, normalization, order=union)


def search(
    index: SearchIndex,
    query: str,
    method: str,
    k: int,
    fusion: FusionSettings = FusionSettings(),
    reranker: Reranker | None = None,
    query_vector: np.ndarray | None = None,
) -> list[Hit]:
    """One entry point for every method; a reranker re-orders `fusion.depth` candidates.

    `query_vector`: the query already embedded (the RAG path embeds once per question).
    """
    method = Method.from_str(method)
    if method is Method.HYBRID:
        return hybrid_search(index, query, k, fusion, reranker, query_vector)
    depth = k if reranker is None else max(fusion.depth, k)
    if method is Method.VECTOR:
        candidates = vector_search(index, query, depth, query_vector)
    else:
        candidates = keyword_search(index, query, depth)
    if reranker is None:
        return candidates
    return reranker.rerank(query, candidates, top_n=k) if candidates else []
