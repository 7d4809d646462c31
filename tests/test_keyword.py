"""The analyzer and the postings-based BM25 index (scores must equal rank-bm25's)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from lib.retrieval.keyword import KeywordIndex, analyze
from lib.types import IndexMismatchError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OB-7731", ["ob-7731", "ob", "7731"]),
        ("API v2.3.1", ["api", "v2.3.1", "v2", "3", "1"]),
        ("ISO-20022 messages", ["iso-20022", "iso", "20022", "messag"]),
        ("costs £12.99.", ["cost", "12.99", "12", "99"]),
        ("The Customer's ACCOUNTS", ["custom", "account"]),
        ("Straße, café", ["strass", "café"]),
        ("the and of a", []),
        ("   ", []),
    ],
)
def test_analyze(text: str, expected: list[str]) -> None:
    assert analyze(text) == expected


def test_analyze_flags_turn_off_stemming_and_stop_words() -> None:
    assert analyze("the savings", stem=False) == ["savings"]
    assert analyze("the savings", stop_words=False) == ["the", "save"]


def test_the_memoised_token_path_gives_the_same_terms_cold_and_warm() -> None:
    from lib.retrieval import keyword

    text = ("Fees for OB-7731 and ISO-20022: the customer's 12.99 savings, v2.3.1 "
            "accounts, the café's Straße. ") * 3
    expected = ["fee", "ob-7731", "ob", "7731", "iso-20022", "iso", "20022", "custom",
                "12.99", "12", "99", "save", "v2.3.1", "v2", "3", "1", "account", "café",
                "strass"] * 3
    keyword._default_terms.cache_clear()
    assert analyze(text) == expected  # cold
    assert analyze(text) == expected  # every token from the cache
    assert analyze(text, stem=True, stop_words=True) == expected
    assert keyword._default_terms.cache_info().maxsize is not None  # bounded


def test_exact_id_is_findable_whole_and_by_its_parts() -> None:
    index = KeywordIndex()
    index.add(
        ["metal", "saver", "api"],
        [
            "The OB-7731 Orbit Metal card.",
            "OB-2204 Orbit Saver pays interest.",
            "API v2.3.1 uses ISO-20022.",
        ],
    )
    assert index.search("OB-7731", 3)[0][0] == "metal"
    assert index.search("7731", 3) == index.search("7731", 3)[:1]  # only the metal chunk has 7731
    assert index.search("7731", 3)[0][0] == "metal"
    assert index.search("ISO 20022", 3)[0][0] == "api"
    assert index.search("v2.3.1", 3)[0][0] == "api"


def _random_corpus(seed: int, n_docs: int, common: list[str]) -> list[str]:
    """Texts over a small vocabulary plus very common words (in > half the docs: idf floor)."""
    rng = random.Random(seed)
    vocab = [f"word{i}" for i in range(40)] + ["OB-7731", "v2.3.1"]
    texts = []
    for _ in range(n_docs):
        words = rng.choices(vocab, k=rng.randint(0, 25)) + [w for w in common if rng.random() < 0.8]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("common", [[], ["alpha"], ["alpha", "beta", "gamma"]])
def test_scores_equal_rank_bm25(seed: int, common: list[str]) -> None:
    texts = _random_corpus(seed, 60, common)
    ids = [f"c{i}" for i in range(len(texts))]
    index = KeywordIndex()
    index.add(ids, texts)
    reference = BM25Okapi([analyze(t) for t in texts])
    rng = random.Random(seed + 100)
    for _ in range(15):
        query = " ".join(rng.choices(texts[rng.randrange(len(texts))].split() or ["word1"], k=3))
        query += " alpha" if common else ""
        expected = reference.get_scores(analyze(query))
        got = index.scores(query)
        assert np.allclose([got[i] for i in ids], expected)
        # search() = the positive scores, best first
        hits = index.search(query, len(ids))
        positive = sorted((s for s in expected if s > 0), reverse=True)
        assert np.allclose([s for _, s in hits], positive)


def test_idf_floor_case_matches_rank_bm25() -> None:
    # 'alpha' is in 4 of 5 docs (negative idf -> epsilon * mean idf), 'zeta' in 1
    texts = ["alpha zeta", "alpha eta", "alpha theta", "alpha iota", "kappa"]
    index = KeywordIndex()
    index.add([str(i) for i in range(5)], texts)
    reference = BM25Okapi([analyze(t) for t in texts])
    assert reference.idf["alpha"] == pytest.approx(0.25 * reference.average_idf)
    got = index.scores("alpha zeta")
    assert np.allclose([got[str(i)] for i in range(5)], reference.get_scores(["alpha", "zeta"]))


@pytest.mark.parametrize(
    "texts",
    [["metal card"], ["card fee", "card"], ["metal card", "metal card", "savings"]],
)
def test_tiny_corpus_is_still_searchable(texts: list[str]) -> None:
    # rank-bm25 scores every document <= 0 here (mean idf <= 0): we switch to Lucene's idf
    assert max(BM25Okapi([analyze(t) for t in texts]).get_scores(analyze(texts[0]))) <= 0
    index = KeywordIndex()
    index.add([str(i) for i in range(len(texts))], texts)
    hits = index.search(texts[0], 5)
    assert hits and hits[0][0] == "0" and all(s > 0 for _, s in hits)


def test_add_remove_replace_rebuilds_lazily() -> None:
    index = KeywordIndex()
    index.add(["a", "b"], ["savings account", "metal card"])
    assert index.search("card", 5)[0][0] == "b"
    index.remove(["b", "unknown"])
    assert index.search("card", 5) == []
    assert index.ids() == {"a"} and len(index) == 1
    index.add(["a"], ["premium metal card"])  # same id: replaced, not duplicated
    assert len(index) == 1 and index.search("card", 5)[0][0] == "a"
    assert index.search("savings", 5) == []


def test_scores_after_remove_equal_a_fresh_index() -> None:
    texts = _random_corpus(7, 40, ["alpha"])
    ids = [f"c{i}" for i in range(40)]
    index = KeywordIndex()
    index.add(ids, texts)
    index.remove(ids[::3])
    fresh = KeywordIndex()
    kept = [i for i in range(40) if i % 3]
    fresh.add([ids[i] for i in kept], [texts[i] for i in kept])
    for query in ["word1 word2 alpha", "OB-7731", "word30"]:
        got, expected = index.search(query, 50), fresh.search(query, 50)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected])


def test_save_load_round_trip(tmp_path) -> None:
    index = KeywordIndex()
    index.add(["x", "y", "z"], ["OB-7731 metal card", "café au lait £3.50", ""])
    path = tmp_path / "index" / "keyword.npz"
    index.save(path)
    loaded = KeywordIndex.load(path)
    assert loaded.ids() == {"x", "y", "z"}
    for query in ["OB-7731", "café", "3.50", "card metal"]:
        assert loaded.search(query, 3) == index.search(query, 3)
    assert [p.name for p in path.parent.iterdir()] == ["keyword.npz"]  # no temp file left


def test_load_refuses_another_analyzer_version(tmp_path, monkeypatch) -> None:
    from lib.retrieval import keyword

    path = tmp_path / "k.npz"
    KeywordIndex().save(path)
    monkeypatch.setattr(keyword, "ANALYZER_VERSION", keyword.ANALYZER_VERSION + 1)
    with pytest.raises(IndexMismatchError):
        KeywordIndex.load(path)


@pytest.mark.parametrize("query", ["", "   ", "the of and", "nothing-matches-this"])
def test_queries_without_terms_or_matches_return_nothing(query: str) -> None:
    index = KeywordIndex()
    index.add(["a"], ["savings account"])
    assert index.search(query, 5) == []


def test_empty_index_and_k() -> None:
    assert KeywordIndex().search("anything", 5) == []
    index = KeywordIndex()
    index.add(["a", "b"], ["card fee", "card"])
    assert len(index.search("card", 100)) == 2
    assert index.search("card", 0) == []


def test_duplicate_texts_tie_in_insertion_order() -> None:
    index = KeywordIndex()
    index.add(["b", "a", "c"], ["metal card", "metal card", "savings"])
    hits = index.search("metal card", 5)
    assert [h[0] for h in hits] == ["b", "a"] and hits[0][1] == hits[1][1]
