"""How well a piece of text matches a question's words, rare words weighing more.

Shared by sentence selection (context.py) and the wrong-line check (lines.py): the words
in every candidate (the product name the question repeats) say little; the rare ones
(the attribute asked about: "early", "late", "payment initiation") say which line answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# Words that carry no meaning for matching a question to a line.
STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "how", "i", "in", "is", "it", "my", "of", "on", "or", "the", "to", "what", "when",
    "which", "who", "why", "with", "you", "your", "me", "much", "many", "long", "any",
})


def content_words(text: str) -> set[str]:
    """Lower-cased words and codes of `text`, stop words left out."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]|[a-z0-9]", text.lower())
            if w not in STOP}


# An excluding negation: "currencies that are not major", "a complaint that is not about a
# payment service", "other than euros". The words it governs point away from the line asked
# for ("For all other complaints ..."), not at it. A situation ("I don't pay on time") is
# not an exclusion and is left alone.
_EXCLUDING = re.compile(
    r"\b(?:(?:is|are|was|were)\s+not|isn't|aren't|not\s+(?=(?:about|for|in|on|from|an?)\b)"
    r"|other\s+than|except(?:\s+for)?|excluding|apart\s+from)\s+"
    r"((?:[a-z0-9][\w-]*\s+){0,3}[a-z0-9][\w-]*)", re.IGNORECASE)
_NOT_GOVERNED = frozenset({"about", "that", "this", "those", "these", "any", "all", "one",
                           "not", "other", "than"})


def excluded_words(question: str) -> set[str]:
    """Content words only an excluding negation in `question` governs ("major" of "not
    major currencies" when "currencies" is asked about elsewhere too)."""
    spans = [m.group(1) for m in _EXCLUDING.finditer(question)]
    if not spans:
        return set()
    governed = set().union(*(content_words(x) for x in spans)) - _NOT_GOVERNED
    rest = content_words(_EXCLUDING.sub(" ", question))
    return governed - rest


def idf_overlap(question: str, texts: Sequence[str]) -> list[float]:
    """Per text, the share (0..1) of the question's words it holds, each weighted by its IDF
    among `texts` (log(1 + N / (1 + df))), less the weight of the words an excluding
    negation governs ("not about a payment service") that it holds."""
    excluded = excluded_words(question)
    # The words outside the negation's reach ("about" in "not about a ..." counts for none).
    qw = content_words(_EXCLUDING.sub(" ", question)) - {"not"}
    words = [content_words(t) for t in texts]
    df = {w: sum(w in tw for tw in words) for w in qw | excluded}
    idf = {w: math.log(1 + len(texts) / (1 + df[w])) for w in qw | excluded}
    total = sum(idf[w] for w in qw) or 1.0
    return [(sum(idf[w] for w in qw & tw) - sum(idf[w] for w in excluded & tw)) / total
            for tw in words]
