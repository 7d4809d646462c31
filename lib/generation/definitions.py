"""What a code means: an answer about a code must say what the line defining it says.

A question that names a code ("What does ERR-5002 mean?") is answered by the one line that
defines it ("ERR-5002: Something went wrong on our side. ..."). A small model often names
the code and then invents its meaning ("a security vulnerability in the app"): no figure
is wrong, so the figure checks pass it. This check compares the answer's words with the
defining line's first sentence (the meaning); when the answer shares too few of them, the
post-check answers again from that line, or quotes it. Pure text rules: every provider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lib.generation.context import asked_kinds, ids_in
from lib.generation.grounding import declines, mentions
from lib.generation.lines import Line
from lib.generation.overlap import content_words
from lib.types import Hit

# An answer that says what a code means shares at least this share of the meaning's words
# ("the payee name check found no match" -> "the payee name did not match": 2 of 5). An
# invented meaning shares none or one word of a long sentence.
MIN_SHARED = 0.3
# Filler a meaning shares with any answer.
_FILLER = frozenset({"this", "that", "will", "would", "has", "have", "been", "we", "our",
                     "us", "there", "their", "they", "then", "not", "no", "if", "so", "all",
                     "any", "one", "some", "such", "error", "code", "means", "message"})


def _stems(text: str) -> set[str]:
    """Content words, a plural's "s" cut off ("limits" is "limit")."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in content_words(text) - _FILLER if len(w) > 1}


# "- ERR-4031: The payment would ...": a code at the start of a line, then its meaning.
_DEFINING = re.compile(r"^\s*(?:[-*•]\s+)?([A-Za-z][\w.-]*\d[\w.-]*)\s*:\s+(\S.*)$")


def definition(question: str, sources: Sequence[Hit]) -> Line | None:
    """The line defining a code the question names ("ERR-4031: The payment would ..."),
    when the question asks for no figure; None when there is none."""
    codes = ids_in(question)
    if not codes or asked_kinds(question):
        return None
    for n, hit in enumerate(sources, 1):
        for raw in hit.chunk.text.splitlines():
            if (m := _DEFINING.match(raw)) and m.group(1).lower() in codes:
                text = f"{m.group(1)}: {m.group(2).strip()}"
                return Line(n, text, hit.chunk.section or "", tuple(mentions(text)))
    return None


def _meaning(line: Line) -> str:
    """The defining line's first sentence after the code, without its examples ("such as
    your daily transfer limit ..." is not what the code means)."""
    body = line.text.partition(":")[2].strip()
    first = re.split(r"(?<=[.!?])\s+", body, maxsplit=1)[0]
    return re.split(r",?\s+(?:such as|for example|e\.g\.|including)\b|\s\(", first)[0]


def misses_definition(question: str, text: str, sources: Sequence[Hit]) -> str:
    """Why the answer does not say what the code it is asked about means ("" when it does,
    declines, or no source defines the code)."""
    line = definition(question, sources)
    if line is None or not text.strip() or declines(text):
        return ""
    meaning = _stems(_meaning(line))
    if not meaning or len(meaning & _stems(text)) >= MIN_SHARED * len(meaning):
        return ""
    code = line.text.partition(":")[0].strip()
    return f"the answer does not say what [{line.source}] gives as the meaning of {code}"
