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
    "which", "who", "why", "with", "you", "your", "me", "much", "many", "long",
})


def content_words(text: str) -> set[str]:
    """Lower-cased words and codes of `text`, stop words left out."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]|[a-z0-9]", text.lower())
            if w not in STOP}


def idf_overlap(question: str, texts: Sequence[str]) -> list[float]:
    """Per text, the share (0..1) of the question's words it holds, each weighted by its IDF
    among `texts` (log(1 + N / (1 + df)))."""
    qw = content_words(question)
    words = [content_words(t) for t in texts]
    df = {w: sum(w in tw for tw in words) for w in qw}
    idf = {w: math.log(1 + len(texts) / (1 + df[w])) for w in qw}
    total = sum(idf.values()) or 1.0
    return [sum(idf[w] for w in qw & tw) / total for tw in words]
