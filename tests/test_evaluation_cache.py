"""The embedding cache: a second run over the same texts does not embed again."""

from __future__ import annotations

import json

import numpy as np

from lib.evaluation import cache as cache_module
from lib.evaluation.cache import CachedEmbedder, EmbeddingCache, text_key


class CountingEmbedder:
    """The real embedder, counting how many texts reach the model."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.embedded = 0
        self.queries = 0

    def embed(self, texts, progress=None):
        self.embedded += len(texts)
        return self.inner.embed(texts, progress)

    def embed_query(self, text):
        self.queries += 1
        return self.inner.embed_query(text)


TEXTS = ["Cats purr.", "Dogs bark.", "Cats purr.", "Fish swim in the sea."]


def test_second_run_reads_the_cache(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    first = CachedEmbedder(counting, tmp_path).embed(TEXTS)
    assert counting.embedded == 3  # the duplicate text is embedded once
    np.testing.assert_allclose(first, embedder.embed(TEXTS), atol=1e-6)
    again = CachedEmbedder(counting, tmp_path)  # a new process would start like this
    second = again.embed(TEXTS[::-1])
    assert counting.embedded == 3 and again.hits == 4 and again.misses == 0
    np.testing.assert_array_equal(second, first[::-1])
    more = again.embed(["Dogs bark.", "A new text."])
    assert counting.embedded == 4 and more.shape == (2, embedder.dim)


def test_cache_is_keyed_by_embedder_name(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    CachedEmbedder(counting, tmp_path).embed(["same text"])
    counting.name = "another-embedder"
    CachedEmbedder(counting, tmp_path).embed(["same text"])
    assert counting.embedded == 2
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_queries_are_cached_apart_from_passages(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    cached = CachedEmbedder(counting, tmp_path)
    cached.embed(["where do cats sleep"])
    vectors = cached.embed_queries(["where do cats sleep", "why do dogs bark"])
    assert counting.queries == 2 and vectors.shape == (2, embedder.dim)
    reopened = CachedEmbedder(counting, tmp_path)
    reopened.embed_queries(["why do dogs bark"])
    np.testing.assert_array_equal(reopened.embed_query("why do dogs bark"), vectors[1])
    assert counting.queries == 2


def test_layout_index_and_compaction(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "MAX_SHARDS", 3)
    store = EmbeddingCache(tmp_path, "toy/embedder:v1", 2)
    for n in range(5):
        store.put([text_key(str(n))], np.array([[n, 1.0]], np.float32))
    meta = json.loads((store.folder / "index.json").read_text())
    assert meta["embedder"] == "toy/embedder:v1" and len(meta["shards"]) <= 3
    assert len(list(store.folder.glob("*.npy"))) == len(meta["shards"])
    reopened = EmbeddingCache(tmp_path, "toy/embedder:v1", 2)
    got = reopened.get([text_key(str(n)) for n in range(5)])
    assert [float(got[text_key(str(n))][0]) for n in range(5)] == [0, 1, 2, 3, 4]


def test_unreadable_index_starts_afresh(tmp_path):
    store = EmbeddingCache(tmp_path, "e", 2)
    store.put(["k"], np.ones((1, 2), np.float32))
    (store.folder / "index.json").write_text("{broken")
    assert len(EmbeddingCache(tmp_path, "e", 2)) == 0
