"""A BEIR corpus as a document-level SearchIndex: vector = best chunk, keyword = whole document.

Measured on SciFact's train split (809 queries, nDCG@10; bench/scifact_study.py):
    keyword over whole documents 0.692  vs  best 128-token chunk 0.679
    vector over whole documents  0.660  vs  best 128-token chunk 0.693  (MiniLM reads 256 tokens:
                                                                     71% of abstracts are longer)
    z-score hybrid, alpha 0.5:   whole/whole 0.729, chunk/chunk 0.729, best chunk + whole doc 0.735
So each retriever gets the granularity it is best at; fusion then works on document lists,
which also keeps the vote of two retrievers that like different chunks of one document.
BM25 counts the title three times (a BM25F-style field weight): keyword 0.692 -> 0.697 and
z-score hybrid 0.735 -> 0.736 on train (x2: 0.695 / 0.735), so it stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lib.evaluation.beir import Document
from lib.evaluation.cache import CachedEmbedder
from lib.ingest.chunking import split_text
from lib.retrieval.keyword import KeywordIndex
from lib.types import Chunk, ChunkSettings, CountProgress, IndexMismatchError, chunk_id

TITLE_WEIGHT = 3  # times the title is counted by BM25 (measured on train, see above)


def _chunk(doc: Document, position: int, start: int, end: int, text: str) -> Chunk:
    return Chunk(
        id=chunk_id(doc.id, position),
        doc_id=doc.id,
        doc_name=doc.title or doc.id,
        page=None,
        section=doc.title or None,
        start=start,
        end=end,
        text=text,
    )


def _with_title(doc: Document, body: str) -> str:
    # The title is the densest summary of an abstract: every chunk carries it, so a chunk
    # from the middle of a document still says what the document is about. A space, as
    # BEIR's own baselines join title and text.
    return f"{doc.title} {body}".strip() if doc.title.strip() else body


def document_chunks(docs: Iterable[Document], chunking: ChunkSettings | None) -> list[Chunk]:
    """Chunks of every document: whole documents when `chunking` is None.

    A chunk's text is the title, a space, then the body span; documents with neither
    title nor text give no chunk (they can never be retrieved, like in any index).
    """
    chunks: list[Chunk] = []
    for doc in docs:
        if not (doc.title.strip() or doc.text.strip()):
            continue
        if chunking is None or not doc.text.strip():
            chunks.append(_chunk(doc, 0, 0, len(doc.text), _with_title(doc, doc.text)))
            continue
        for position, (start, end) in enumerate(split_text(doc.text, chunking)):
            chunks.append(_chunk(doc, position, start, end, _with_title(doc, doc.text[start:end])))
    return chunks


class DocumentIndex:
    """SearchIndex whose items are documents (ids = corpus ids), see the module docstring."""

    def __init__(
        self,
        embedder,
        chunks: list[Chunk],
        vectors: np.ndarray,
        keyword: KeywordIndex,
        documents: dict[str, Chunk],
    ):
        self.embedder = embedder
        self.keyword = keyword
        self._docs = documents
        self._doc_ids = list(documents)
        self._position = position = {d: i for i, d in enumerate(self._doc_ids)}
        self._owner = np.array([position[c.doc_id] for c in chunks], dtype=np.int64)
        self._matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_chunks = len(chunks)

    def __len__(self) -> int:
        return len(self._doc_ids)

    def chunk(self, doc_id: str) -> Chunk:
        """The whole document as one Chunk (what a hit shows)."""
        return self._docs[doc_id]

    def vector_query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-k documents by their best chunk's cosine similarity."""
        if k <= 0 or not self._doc_ids or self.n_chunks == 0:
            return []
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if query.shape[0] != self._matrix.shape[1]:
            raise IndexMismatchError("the query embedding does not match the corpus embeddings")
        best = np.full(len(self._doc_ids), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._owner, self._matrix @ query)
        k = min(k, int(np.isfinite(best).sum()))
        top = np.argpartition(-best, k - 1)[:k] if k < len(best) else np.arange(len(best))
        top = top[np.lexsort((top, -best[top]))]
        return [(self._doc_ids[i], float(best[i])) for i in top if np.isfinite(best[i])]

    def keyword_query(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k documents by BM25 over the whole document (title + text)."""
        return self.keyword.search(query, k)

    def vector_scores(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Exact best-chunk cosine of the given documents (for exact weighted fusion)."""
        if self.n_chunks == 0:
            return {}
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        best = np.full(len(self._doc_ids), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._owner, self._matrix @ query)
        return {d: float(best[self._position[d]]) for d in ids if d in self._position}

    def keyword_scores(self, query: str, ids: Sequence[str]) -> dict[str, float]:
        """Exact BM25 of the given documents (0.0 when they share no term with the query)."""
        return self.keyword.scores_for(query, ids)


def _keyword_text(doc: Chunk) -> str:
    """Whole-document text for BM25, with the title repeated (see TITLE_WEIGHT)."""
    title = doc.section or ""
    return f"{(title + ' ') * (TITLE_WEIGHT - 1)}{doc.text}" if title else doc.text


def build_index(
    docs: Iterable[Document],
    embedder,
    chunking: ChunkSettings | None,
    cache_root: Path | None,
    progress: CountProgress | None = None,
) -> DocumentIndex:
    """Index a corpus in memory; embeddings come from the cache when present.

    Args:
        docs: the corpus documents.
        embedder: any Embedder (wrapped in CachedEmbedder when `cache_root` is given).
        chunking: chunk size/overlap for the vector side, or None for whole documents.
        cache_root: <data dir>/cache/embeddings, or None to embed without caching.
        progress: called with (texts done, total) while embedding.
    """
    docs = list(docs)
    chunks = document_chunks(docs, chunking)
    whole = {c.doc_id: c for c in document_chunks(docs, None)}
    if cache_root is not None and not isinstance(embedder, CachedEmbedder):
        embedder = CachedEmbedder(embedder, cache_root)
    texts = [c.text for c in chunks]
    vectors = embedder.embed(texts, progress) if texts else np.zeros((0, embedder.dim), np.float32)
    keyword = KeywordIndex()
    keyword.add(list(whole), [_keyword_text(c) for c in whole.values()])
    return DocumentIndex(embedder, chunks, vectors, keyword, whole)
