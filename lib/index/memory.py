"""An in-memory SearchIndex (numpy cosine + KeywordIndex) for BEIR corpora, tests and benches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lib.retrieval.embeddings import Embedder
from lib.retrieval.keyword import KeywordIndex
from lib.types import Chunk, CountProgress, IndexMismatchError


class MemoryIndex:
    """Chunks held in memory: a float32 [n, dim] matrix of unit rows and a BM25 index.

    Exact (brute-force) cosine search: at 50k x 384 one matrix-vector product is ~20 MB of
    reads (a few ms), and argpartition picks the top k without sorting all n scores.
    """

    def __init__(
        self,
        embedder: Embedder,
        chunks: Sequence[Chunk],
        embeddings: np.ndarray | None = None,
        progress: CountProgress | None = None,
    ):
        """Index `chunks`; `embeddings` (unit rows in chunk order) skips embedding them."""
        self.embedder = embedder
        self._chunks = {c.id: c for c in chunks}
        if len(self._chunks) != len(chunks):
            raise ValueError("chunk ids must be unique")
        self._ids = [c.id for c in chunks]
        self._row = {chunk_id: n for n, chunk_id in enumerate(self._ids)}
        if embeddings is None:
            embeddings = embedder.embed([c.text for c in chunks], progress) if chunks else None
        dim = getattr(embedder, "dim", 0)
        matrix = np.zeros((0, dim), np.float32) if embeddings is None else embeddings
        self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if self._matrix.shape[0] != len(chunks):
            raise ValueError("one embedding row per chunk")
        self.keyword = KeywordIndex()
        self.keyword.add(self._ids, [c.text for c in chunks])

    @property
    def n_chunks(self) -> int:
        return len(self._ids)

    @property
    def embeddings(self) -> np.ndarray:
        """The [n, dim] matrix (read-only view), e.g. to cache or to build a bigger index."""
        view = self._matrix.view()
        view.flags.writeable = False
        return view

    def chunk(self, chunk_id: str) -> Chunk:
        return self._chunks[chunk_id]

    def chunks(self) -> list[Chunk]:
        return [self._chunks[i] for i in self._ids]

    def vector_query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity), best first."""
        n = len(self._ids)
        if n == 0 or k <= 0:
            return []
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if query.shape[0] != self._matrix.shape[1]:
            raise IndexMismatchError(
                f"the query has {query.shape[0]} dimensions, the index {self._matrix.shape[1]}"
            )
        scores = self._matrix @ query
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by insertion order
        return [(self._ids[i], float(scores[i])) for i in top]

    def keyword_query(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first, scores > 0 only."""
        return self.keyword.search(query, k)

    def vector_scores(self, embedding: np.ndarray, ids: Iterable[str]) -> dict[str, float]:
        """Exact cosine similarity of the given chunks to the query (unknown ids skipped)."""
        rows = [(i, self._row[i]) for i in ids if i in self._row]
        if not rows:
            return {}
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        sims = self._matrix[[r for _, r in rows]] @ query
        return {i: float(s) for (i, _), s in zip(rows, sims)}

    def keyword_scores(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """Exact BM25 scores of the given chunks (0.0 when they share no term with the query)."""
        return self.keyword.scores_for(query, ids)
