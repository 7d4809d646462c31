"""Vector, keyword and hybrid search on tiny corpora with known answers (real MiniLM embedder)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from lib.retrieval.fusion import FusionSettings, UnknownModeError
from lib.index.memory import MemoryIndex
from lib.retrieval.search import Method, hybrid_search, keyword_search, search, vector_search
from lib.types import Chunk, IndexMismatchError

TEXTS = {
    "metal": "The OB-7731 Orbit Metal card is a premium debit card with airport lounge access.",
    "saver": "OB-2204 Orbit Saver is an easy-access savings account. Rates can change.",
    "fx": "OB-4410 Orbit FX sends international transfers in 30 currencies for a 0.4% fee.",
    "api": "The Open Banking API v2.3.1 sends payments as ISO-20022 messages.",
    "cafe": "Kaffee in der Straße: Orbit Café Zürich accepts contactless payments. 咖啡",
}


def make_chunks(texts: dict[str, str], doc: str = "doc.md") -> list[Chunk]:
    """One chunk per text, ids as given."""
    return [Chunk(cid, "d" + cid, doc, None, None, 0, len(t), t) for cid, t in texts.items()]


@pytest.fixture(scope="module")
def index(embedder) -> MemoryIndex:
    return MemoryIndex(embedder, make_chunks(TEXTS))


@pytest.fixture(scope="module")
def empty_index(embedder) -> MemoryIndex:
    return MemoryIndex(embedder, [])


# every mode the Search lab offers: the two single methods and hybrid with each fusion setting
MODES = [
    pytest.param(Method.VECTOR, FusionSettings(), id="vector"),
    pytest.param(Method.KEYWORD, FusionSettings(), id="keyword"),
    pytest.param(Method.HYBRID, FusionSettings(mode="rrf"), id="hybrid-rrf"),
    pytest.param(Method.HYBRID, FusionSettings(mode="weighted"), id="hybrid-weighted-minmax"),
    pytest.param(
        Method.HYBRID,
        FusionSettings(mode="weighted", normalization="zscore", alpha=0.3),
        id="hybrid-weighted-zscore",
    ),
]


def ids(hits) -> list[str]:
    return [h.chunk.id for h in hits]


def test_vector_finds_a_paraphrase_keyword_cannot(index) -> None:
    query = "lounge access with a premium debit card"
    hits = vector_search(index, query, 3)
    assert ids(hits)[0] == "metal"
    assert [h.rank for h in hits] == [1, 2, 3] and {h.method for h in hits} == {"vector"}
    assert hits[0].score > hits[1].score >= hits[2].score
    assert ids(vector_search(index, "paying someone abroad", 1)) == ["fx"]
    assert keyword_search(index, "paying someone abroad", 3) == []


def test_keyword_finds_exact_identifiers_whole_and_by_parts(index) -> None:
    hits = keyword_search(index, "OB-7731", 5)
    assert ids(hits)[0] == "metal"
    assert hits[0].score > 5 * hits[1].score  # the other "OB-" products only share the part "ob"
    assert ids(keyword_search(index, "ISO-20022", 5)) == ["api"]
    assert ids(keyword_search(index, "v2.3.1", 5)) == ["api"]
    assert ids(keyword_search(index, "20022", 5)) == ["api"]
    hits = keyword_search(index, "payments", 5)
    assert set(ids(hits)) == {"api", "cafe"} and {h.method for h in hits} == {"keyword"}


def test_hybrid_combines_both_sides(index) -> None:
    hits = hybrid_search(index, "OB-2204 savings", 5)
    assert ids(hits)[0] == "saver" and {h.method for h in hits} == {"hybrid"}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len(set(ids(hits))) == len(hits)


def test_hybrid_rrf_score_is_the_sum_of_reciprocal_ranks(index) -> None:
    query = "Orbit card fee"
    vec = ids(vector_search(index, query, 5))
    kw = ids(keyword_search(index, query, 5))
    for hit in hybrid_search(index, query, 5, FusionSettings(mode="rrf", rrf_k=60)):
        expected = sum(
            1 / (60 + lst.index(hit.chunk.id) + 1) for lst in (vec, kw) if hit.chunk.id in lst
        )
        assert hit.score == pytest.approx(expected)


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_empty_index(empty_index, method, fusion) -> None:
    assert search(empty_index, "OB-7731 card", method, 5, fusion) == []


@pytest.mark.parametrize(("method", "fusion"), MODES)
@pytest.mark.parametrize("query", ["", "   ", "\n\t", "?!", "£"])
def test_empty_or_wordless_query(index, method, fusion, query) -> None:
    assert search(index, query, method, 5, fusion) == []


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_top_k_larger_than_index(index, method, fusion) -> None:
    hits = search(index, "Orbit payments card", method, 50, fusion)
    assert 0 < len(hits) <= len(TEXTS)
    assert len(set(ids(hits))) == len(hits)
    if method is not Method.KEYWORD:  # vector (and so hybrid) ranks every chunk
        assert len(hits) == len(TEXTS)


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_only_stop_words(index, method, fusion) -> None:
    hits = search(index, "the and of which", method, 5, fusion)
    if method is Method.KEYWORD:
        assert hits == []
    else:  # vector still ranks by meaning; hybrid then equals vector's order
        assert ids(hits) == ids(vector_search(index, "the and of which", 5))


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_single_exact_id_query(index, method, fusion) -> None:
    hits = search(index, "OB-4410", method, 3, fusion)
    assert hits
    if method is not Method.VECTOR:  # keyword and hybrid must put the exact ID first
        assert ids(hits)[0] == "fx"


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_duplicate_chunks(embedder, method, fusion) -> None:
    texts = {"a": TEXTS["metal"], "b": TEXTS["metal"], "c": TEXTS["saver"]}
    index = MemoryIndex(embedder, make_chunks(texts))
    hits = search(index, "metal debit card", method, 5, fusion)
    assert set(ids(hits)[:2]) == {"a", "b"} and len(set(ids(hits))) == len(hits)
    if fusion.mode == "weighted" or method is not Method.HYBRID:  # RRF: ranks 1 and 2 differ
        assert hits[0].score == pytest.approx(hits[1].score)


@dataclass
class RepeatingIndex:
    """A SearchIndex whose retrievers return every id twice (as a buggy store might)."""

    inner: MemoryIndex

    @property
    def embedder(self):
        return self.inner.embedder

    def vector_query(self, embedding, k):
        return [
            p
            for pair in zip(
                self.inner.vector_query(embedding, k), self.inner.vector_query(embedding, k)
            )
            for p in pair
        ]

    def keyword_query(self, query, k):
        return [
            p
            for pair in zip(self.inner.keyword_query(query, k), self.inner.keyword_query(query, k))
            for p in pair
        ]

    def chunk(self, chunk_id):
        return self.inner.chunk(chunk_id)


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_results_are_deduped_by_chunk(index, method, fusion) -> None:
    hits = search(RepeatingIndex(index), "Orbit card payments", method, 4, fusion)
    assert len(set(ids(hits))) == len(hits) > 0
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


@pytest.mark.parametrize(("method", "fusion"), MODES)
@pytest.mark.parametrize("query", ["Straße Zürich", "STRASSE café", "咖啡"])
def test_non_ascii_text(index, method, fusion, query) -> None:
    hits = search(index, query, method, 2, fusion)
    assert ids(hits)[0] == "cafe" or method is Method.VECTOR
    assert hits


def test_k_zero_and_method_errors(index) -> None:
    assert search(index, "card", "vector", 0) == []
    with pytest.raises(UnknownModeError, match="vector, keyword, hybrid"):
        search(index, "card", "semantic", 5)
    assert search(index, "OB-7731", "KEYWORD", 1)[0].chunk.id == "metal"


def test_memory_index_vector_query(index, embedder) -> None:
    query = embedder.embed_query(TEXTS["api"])
    result = index.vector_query(query, 2)
    # not exactly 1: the int8 model quantises activations per batch, so alone != in a batch
    assert result[0][0] == "api" and result[0][1] == pytest.approx(1.0, abs=0.02)
    full = index.vector_query(query, 99)
    assert len(full) == len(TEXTS) and [s for _, s in full] == sorted(
        (s for _, s in full), reverse=True
    )
    with pytest.raises(IndexMismatchError):
        index.vector_query(np.zeros(10, np.float32), 2)


def test_memory_index_accepts_precomputed_embeddings(index, embedder) -> None:
    chunks = index.chunks()
    copy = MemoryIndex(embedder, chunks, embeddings=np.array(index.embeddings))
    query = embedder.embed_query("savings")
    assert copy.vector_query(query, 3) == index.vector_query(query, 3)
    with pytest.raises(ValueError):
        MemoryIndex(embedder, chunks, embeddings=np.zeros((1, 384), np.float32))


# --- The check on the sample documents and their labelled queries (real Store) ---


@pytest.fixture(scope="module")
def labelled():
    from lib.samples import labelled_queries

    queries = [q for q in labelled_queries() if q.relevant]
    assert any(q.type == "exact_id" for q in queries)
    return queries


def test_keyword_puts_every_exact_id_querys_document_first(sample_store, labelled) -> None:
    for q in (q for q in labelled if q.type == "exact_id"):
        top = keyword_search(sample_store, q.text, 1)
        assert top and q.relevant.get(top[0].chunk.doc_name, 0) > 0, (q.id, q.text, top[:1])


@pytest.mark.parametrize(
    "fusion", [FusionSettings(), FusionSettings(mode="weighted")], ids=["rrf", "weighted"]
)
def test_hybrid_recall_at_5_is_at_least_the_better_single_method(
    sample_store, labelled, fusion
) -> None:
    from lib.retrieval.search_lab import score_hits

    recall = {
        method: float(
            np.mean(
                [
                    score_hits(search(sample_store, q.text, method, 5, fusion), q.relevant).recall
                    for q in labelled
                ]
            )
        )
        for method in Method
    }
    assert recall["hybrid"] >= max(recall["vector"], recall["keyword"]), recall


def test_default_hybrid_scores_the_union_exactly(index) -> None:
    """Default fusion (weighted z-score) uses real scores from both retrievers for every candidate."""
    from lib.retrieval.fusion import normalize

    query = "Orbit card fee"
    hits = hybrid_search(index, query, 5)
    candidates = {h.chunk.id for h in vector_search(index, query, 50)} | {
        h.chunk.id for h in keyword_search(index, query, 50)
    }
    union = sorted(candidates)
    v = index.vector_scores(index.embedder.embed_query(query), union)
    k = index.keyword_scores(query, union)
    nv = dict(zip(union, normalize([v[i] for i in union], "zscore")))
    nk = dict(zip(union, normalize([k.get(i, 0.0) for i in union], "zscore")))
    for hit in hits:  # float32 vector distances: equal to ~1e-7, whatever the CPU's kernels
        assert hit.score == pytest.approx(0.5 * nv[hit.chunk.id] + 0.5 * nk[hit.chunk.id],
                                          abs=1e-5)


def test_store_exact_scores_match_its_ranked_queries(sample_store) -> None:
    """The real Store scores any chunk exactly, consistent with its own top-k queries."""
    query = "OB-7731 monthly fee"
    embedding = sample_store.embedder.embed_query(query)
    top_vec = sample_store.vector_query(embedding, 10)
    exact = sample_store.vector_scores(embedding, [cid for cid, _ in top_vec])
    for cid, score in top_vec:
        assert exact[cid] == pytest.approx(score, abs=1e-4)
    top_kw = sample_store.keyword_query(query, 10)
    assert sample_store.keyword_scores(query, [cid for cid, _ in top_kw]) == pytest.approx(dict(top_kw))
    hits = hybrid_search(sample_store, query, 5)
    assert len(hits) == 5 and hits[0].method == "hybrid"
    assert any(h.chunk.doc_name == "fee_schedule.pdf" for h in hits)


class CountingEmbedder:
    """The real embedder, counting how often a query is embedded."""

    def __init__(self, inner) -> None:
        self.inner, self.queries = inner, 0

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return self.inner.embed_query(text)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@pytest.mark.parametrize(("method", "fusion"), MODES)
def test_a_precomputed_query_vector_is_not_embedded_again(embedder, method, fusion) -> None:
    counting = CountingEmbedder(embedder)
    index = MemoryIndex(counting, make_chunks(TEXTS))
    query = "premium card with lounge access"
    plain = search(index, query, method, 3, fusion)
    embedded = counting.queries
    vector = embedder.embed_query(query)
    given = search(index, query, method, 3, fusion, query_vector=vector)
    assert counting.queries == embedded  # the given vector was used, nothing embedded
    assert embedded == (0 if method is Method.KEYWORD else 1)
    assert ids(given) == ids(plain) and [h.score for h in given] == [h.score for h in plain]


def test_a_chunk_deleted_between_search_and_lookup_is_skipped(index) -> None:
    """Another instance may delete a document while this one searches: no KeyError."""
    everything = keyword_search(index, "orbit", 10)
    gone = everything[0].chunk.id

    class Forgetful:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def chunk(self, chunk_id):
            if chunk_id == gone:
                raise KeyError(chunk_id)
            return self._inner.chunk(chunk_id)

    hits = keyword_search(Forgetful(index), "orbit", 10)
    assert gone not in {h.chunk.id for h in hits}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len(hits) == len(everything) - 1
