"""Words of a question that no indexed document uses: a hint that the answer may be off.

Measured on the sample documents' labelled questions (README, "Citation accuracy"): most
in-domain questions the documents do not answer name something no document mentions
("mortgage", "dividend", "safe deposit box"), but so do many answerable paraphrases
("hole in the wall", "wages"), so this cannot decide to abstain. It is shown under the
answer instead, for the reader to judge: "no document uses the word mortgage".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lib.generation.overlap import STOP
from lib.retrieval.keyword import analyze

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")
_CLITIC = re.compile(r"(?:'s|'m|'ve|'re|'ll|'d|n't)$")
# Question words that say what is asked, not what about.
_ASKING = frozenset({"ten", "hundred", "thousand", "million", "does", "did", "get", "got", "need", "want", "tell", "give", "there",
                     "much", "many", "long", "will", "would", "could", "should", "have",
                     "has", "any", "this", "that", "these", "those", "its", "their", "our"})


def unseen_words(question: str, known: Callable[[str], bool]) -> tuple[str, ...]:
    """The question's words (3+ letters, not question words) for which `known` is False,
    in question order, each once. `known(word)`: does any indexed chunk use it?"""
    out: list[str] = []
    for word in _WORD.findall(question):
        low = _CLITIC.sub("", word.lower())  # "Orbit's", "I'm", "I've", "don't"
        if len(low) < 3 or low in STOP or low in _ASKING or low in out or not analyze(low):
            continue  # analyze() drops the index's stop words ("about", "most", "only")
        if not known(low):
            out.append(low)
    return tuple(out)


def index_knows(index: object) -> Callable[[str], bool]:
    """`known` for an index with `keyword_query` (BM25 analyses the word as it does text);
    an index without keyword search knows every word (nothing is flagged)."""
    query = getattr(index, "keyword_query", None)
    if query is None:
        return lambda word: True
    return lambda word: bool(query(word, 1))
