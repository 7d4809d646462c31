"""Keyword search: a deliberate analyzer and BM25 (Okapi) scored from term -> postings arrays.

Analyzer (`analyze`): NFKC + case-folding; Unicode word tokens; a token joined by `- . _ / : '`
(`OB-7731`, `v2.3.1`, `ISO-20022`, `12.99`) is kept whole (unstemmed, so exact IDs match
exactly) *and* split into its parts (`ob`, `7731`), so an ID is findable both ways; English stop
words and lone letters dropped; purely alphabetic tokens Snowball-stemmed.

Why stemming and stop words: measured with `bench/search.py --analyzer` on SciFact (5,183
abstracts, title + text, BM25 k1=1.5 b=0.75), nDCG@10:
    analyzer                    train split (809 q)   test split (300 q)
    no stemming, stop words           0.6624               0.6766
    stemming,    stop words           0.6919               0.6915   <- used
    stemming,    no stop words        0.6853               0.6790
    no stemming, no stop words        0.6554               0.6576
Stemming helps by ~0.015-0.03 on both splits, and stop words by ~0.01, so both are on.

Scoring is rank-bm25 0.2.2's `BM25Okapi` formula exactly (k1=1.5, b=0.75, epsilon=0.25; idf =
ln(N - n + 0.5) - ln(n + 0.5), negative idfs floored at epsilon * mean idf), but the per-posting
weights are precomputed once per rebuild, so a query touches only its own terms' postings
instead of scanning every document (tests/test_keyword.py asserts equal scores). One deliberate
exception, for tiny corpora where rank-bm25 can only score <= 0 (see `_idf`).
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import snowballstemmer

from lib.io import atomic_write_bytes
from lib.journal import delta
from lib.types import IndexMismatchError

ANALYZER_VERSION = 1  # bump when analyze() changes: a saved index then refuses to load

# The classic NLTK English list. Deliberately *not* scikit-learn's longer list: it drops
# words a bank's documents need ("interest", "bill", "system", "first").
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them their
    theirs themselves what which who whom this that that'll these those am is are was were be
    been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below
    to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too
    very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
    couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't
    ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
    weren weren't won won't wouldn wouldn't""".split()
)

# A run of letters/digits, optionally joined to more runs by connectors that appear inside
# identifiers, versions, decimals and hyphenated words. `£12.99` -> `12.99` (symbol dropped).
TOKEN_RE = re.compile(r"[^\W_]+(?:[-._/:'][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"'s\b")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_local = threading.local()  # snowball stemmers keep state: one per thread


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Snowball English stem of an alphabetic word (cached: corpora repeat words)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def _term(word: str, stem: bool, stop_words: bool) -> str | None:
    """One simple token -> an index term, or None when it carries no meaning."""
    if (stop_words and word in STOP_WORDS) or (len(word) == 1 and word.isalpha()):
        return None
    return _stem(word) if stem and word.isalpha() else word


def _token_terms(token: str, stem: bool = True, stop_words: bool = True) -> tuple[str, ...]:
    """One TOKEN_RE match -> its index terms (the whole identifier first, then its parts)."""
    parts = _PART.findall(token)
    terms = [token] if len(parts) > 1 and token not in STOP_WORDS else []  # exact, unstemmed
    for part in parts:
        term = _term(part, stem, stop_words)
        if term is not None:
            terms.append(term)
    return tuple(terms)


# The default flags' whole per-token path, memoised: a chunk's tokens mostly repeat earlier
# ones, and this was most of the ingest commit thread's Python time (the BM25 analysis
# beside Chroma's add). Bounded, so a stream of unique IDs cannot grow it without limit.
_default_terms = lru_cache(maxsize=200_000)(_token_terms)


def analyze(text: str, *, stem: bool = True, stop_words: bool = True) -> list[str]:
    """Text -> index terms (see the module docstring; the flags exist to measure them)."""
    text = _POSSESSIVE.sub(
        "", unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    )
    tokens = TOKEN_RE.findall(text)  # no capturing groups: whole matches
    if stem and stop_words:
        return list(itertools.chain.from_iterable(map(_default_terms, tokens)))
    return [t for token in tokens for t in _token_terms(token, stem, stop_words)]


@dataclass(frozen=True)
class _Postings:
    """Immutable scoring structures: CSR by term id, with precomputed BM25 weights."""

    ids: list[str]
    offsets: np.ndarray  # int64 [n_terms + 1]
    docs: np.ndarray  # int32 [nnz], doc index per posting
    weights: np.ndarray  # float64 [nnz], idf * saturated tf
    position: dict[str, int]  # chunk id -> its index in `ids`


@dataclass(frozen=True)
class KeywordState:
    """What a saved copy of an index held: its chunks' analysed terms and vocabulary size."""

    docs: dict[str, tuple[np.ndarray, np.ndarray, int]]
    n_terms: int


class KeywordIndex:
    """BM25 index over chunk texts; add/remove mark it dirty and the next search rebuilds once."""

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        analyzer: Callable[[str], list[str]] = analyze,
    ):
        # a custom analyzer is for experiments: save/load always assume `analyze`
        self.k1, self.b, self.epsilon, self.analyzer = k1, b, epsilon, analyzer
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        # chunk id -> (term ids, term frequencies, document length in terms)
        self._docs: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self._built: _Postings | None = None
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._docs)

    def ids(self) -> set[str]:
        """The chunk ids in the index."""
        with self._lock:
            return set(self._docs)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Add (or replace) chunks; scoring structures are rebuilt lazily."""
        if len(ids) != len(texts):
            raise ValueError("ids and texts must have the same length")
        analysed = [Counter(self.analyzer(t)) for t in texts]  # outside the lock: the slow part
        with self._lock:
            for chunk_id, counts in zip(ids, analysed):
                term_ids = np.fromiter((self._term_id(t) for t in counts), np.int32, len(counts))
                tfs = np.fromiter(counts.values(), np.int32, len(counts))
                self._docs[chunk_id] = (term_ids, tfs, int(tfs.sum()))
            self._built = None

    def remove(self, ids: Iterable[str]) -> None:
        """Remove chunks (unknown ids are ignored)."""
        with self._lock:
            for chunk_id in ids:
                self._docs.pop(chunk_id, None)
            self._built = None

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first, only scores > 0; ties keep insertion order."""
        if k <= 0:
            return []
        postings, scores = self._score(query)
        # a scan of n floats (~30 us at 50k) beats deduplicating the touched postings
        candidates = np.flatnonzero(scores > 0)
        cand_scores = scores[candidates]
        if candidates.size > k:
            top = np.argpartition(-cand_scores, k - 1)[:k]
            candidates, cand_scores = candidates[top], cand_scores[top]
        order = np.lexsort((candidates, -cand_scores))
        return [(postings.ids[candidates[i]], float(cand_scores[i])) for i in order]

    def scores(self, query: str) -> dict[str, float]:
        """Every chunk's BM25 score for `query` (zeros included); for tests and diagnostics."""
        postings, scores = self._score(query)
        return dict(zip(postings.ids, scores.tolist()))

    def scores_for(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """Exact BM25 scores of the given chunks (0.0 when no query term occurs; unknown ids skipped)."""
        postings, scores = self._score(query)
        return {i: float(scores[postings.position[i]]) for i in ids if i in postings.position}

    def state(self) -> KeywordState:
        """A snapshot to diff a later `changes` against (cheap: references, not copies)."""
        with self._lock:
            return KeywordState(dict(self._docs), len(self._terms))

    def changes(self, since: KeywordState) -> tuple[dict[str, Any], int]:
        """A journal entry of what changed since `since` (same index object), and how many chunks."""
        with self._lock:
            added, dropped = delta(self._docs, since.docs)
            rows = [[i, self._docs[i][0].tolist(), self._docs[i][1].tolist()] for i in added]
            entry = {"terms_from": since.n_terms, "terms": self._terms[since.n_terms:],
                     "drop": dropped, "add": rows}
        return entry, len(added) + len(dropped)

    def apply(self, entry: dict[str, Any]) -> None:
        """Replay a `changes` entry onto the index it was taken from (as loaded from disk)."""
        with self._lock:
            if entry["terms_from"] != len(self._terms):
                raise ValueError("keyword journal does not follow its base")
            for term in entry["terms"]:
                self._vocab[term] = len(self._terms)
                self._terms.append(term)
            for chunk_id in entry["drop"]:
                self._docs.pop(chunk_id, None)
            for chunk_id, term_ids, counts in entry["add"]:
                tfs = np.asarray(counts, np.int32)
                self._docs[chunk_id] = (np.asarray(term_ids, np.int32), tfs, int(tfs.sum()))
            self._built = None

    def save(self, path: Path, token: str = "") -> None:
        """Write the index atomically (npz + JSON header, no pickle); `token`: see lib.journal."""
        with self._lock:
            ids = list(self._docs)
            docs = [self._docs[i] for i in ids]
            meta = {
                "version": ANALYZER_VERSION,
                "token": token,
                "ids": ids,
                "terms": self._terms,
                "k1": self.k1,
                "b": self.b,
                "epsilon": self.epsilon,
            }
            lengths = np.array([len(d[0]) for d in docs], np.int64)
            arrays = {
                "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
                "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                "terms": _concat([d[0] for d in docs], np.int32),
                "tfs": _concat([d[1] for d in docs], np.int32),
            }
        _atomic_savez(Path(path), arrays)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        """Read an index written by `save`; an older analyzer's index raises IndexMismatchError."""
        return cls.load_saved(path)[0]

    @classmethod
    def load_saved(cls, path: Path) -> tuple[KeywordIndex, str | None]:
        """`load`, and the token it was saved with (None if none)."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            if meta.get("version") != ANALYZER_VERSION:
                raise IndexMismatchError(
                    "the keyword index was built by another analyzer version: re-index"
                )
            offsets, terms, tfs = data["offsets"], data["terms"], data["tfs"]
        index = cls(meta["k1"], meta["b"], meta["epsilon"])
        index._terms = list(meta["terms"])
        index._vocab = {t: i for i, t in enumerate(index._terms)}
        for n, chunk_id in enumerate(meta["ids"]):
            a, z = offsets[n], offsets[n + 1]
            index._docs[chunk_id] = (terms[a:z], tfs[a:z], int(tfs[a:z].sum()))
        return index, meta.get("token") or None

    def _term_id(self, term: str) -> int:
        """The vocabulary id of a term, added when new (caller holds the lock)."""
        tid = self._vocab.get(term)
        if tid is None:
            tid = self._vocab[term] = len(self._terms)
            self._terms.append(term)
        return tid

    def _score(self, query: str) -> tuple[_Postings, np.ndarray]:
        """The postings used and dense scores over all chunks (only the query's postings read)."""
        postings = self._postings()
        scores = np.zeros(len(postings.ids))
        n_terms = len(postings.offsets) - 1
        for term, count in Counter(self.analyzer(query)).items():
            tid = self._vocab.get(term)
            if tid is None or tid >= n_terms:
                continue
            a, z = postings.offsets[tid], postings.offsets[tid + 1]
            if a < z:
                docs = postings.docs[a:z]  # unique within one term, so fancy += is safe
                scores[docs] += postings.weights[a:z] * count
        return postings, scores

    def _postings(self) -> _Postings:
        """The current scoring structures, rebuilt if an add/remove made them stale."""
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._rebuild()
                built = self._built
        return built

    def _rebuild(self) -> _Postings:
        """Vectorised build of term -> postings with rank-bm25's idf and length normalisation."""
        ids = list(self._docs)
        docs = [self._docs[i] for i in ids]
        n_vocab = len(self._terms)
        term_ids = _concat([d[0] for d in docs], np.int32)
        tfs = _concat([d[1] for d in docs], np.int32).astype(np.float64)
        doc_index = np.repeat(np.arange(len(docs), dtype=np.int32), [len(d[0]) for d in docs])
        order = np.argsort(term_ids, kind="stable")
        term_ids, tfs, doc_index = term_ids[order], tfs[order], doc_index[order]
        df = np.bincount(term_ids, minlength=n_vocab).astype(np.float64)
        offsets = np.zeros(n_vocab + 1, np.int64)
        offsets[1:] = np.cumsum(df)
        if term_ids.size == 0:
            return _Postings(ids, offsets, doc_index, np.zeros(0), _positions(ids))
        n_docs = len(docs)
        lengths = np.array([d[2] for d in docs], np.float64)
        avgdl = lengths.sum() / n_docs
        idf = _idf(df, n_docs, self.epsilon)
        norm = self.k1 * (1 - self.b + self.b * lengths / avgdl)
        weights = idf[term_ids] * (tfs * (self.k1 + 1) / (tfs + norm[doc_index]))
        return _Postings(ids, offsets, doc_index, weights, _positions(ids))


def _positions(ids: list[str]) -> dict[str, int]:
    return {chunk_id: n for n, chunk_id in enumerate(ids)}


def _idf(df: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """rank-bm25's idf; Lucene's always-positive idf for tiny corpora where rank-bm25's fails.

    rank-bm25 floors the negative idf of a term in more than half the documents at
    epsilon * mean idf. In a tiny corpus (one to a few chunks: a user's first upload) that mean is
    <= 0, so every score is <= 0 and keyword search finds nothing. Only then we use
    ln(1 + (N - n + 0.5) / (n + 0.5)) for all terms; any larger corpus scores exactly as rank-bm25.
    """
    present = df > 0
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    floor = epsilon * idf[present].mean()
    if floor <= 0:
        return np.log1p((n_docs - df + 0.5) / (df + 0.5))
    return np.where(idf < 0, floor, idf)


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    """np.concatenate that also accepts an empty list."""
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a temp file in the same folder, then os.replace (never half a file)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())
