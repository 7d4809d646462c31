"""Product names a question uses that no retrieved passage holds ("Orbit Everyday Plus").

Like a code no passage names (grounding.missing_ids), a multi-word proper name that is in
none of the passages retrieval found means the question is about something the documents
do not cover: hybrid retrieval weighs the name's exact words, so its chunks would be
among the hits. Single capitalised words are left alone (any sentence starts with one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from lib.generation.grounding import mentions

# A run of two or more capitalised words (or numbers inside one: "Fixed Saver 12M").
_NAME = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z0-9][\w-]*)+")
# Capitalised only because they start the question, or a pronoun: not part of a name.
_NOT_NAME = frozenset(
    "a an the what how when which who where why can could do does did is are was will would "
    "should shall may might if in on at for with under after before from to up my our your "
    "i i'm i've it this that there someone anyone please tell".split())


def question_names(question: str) -> list[str]:
    """The multi-word proper names in `question`, possessives split off ("Orbit Bank's").

    None in a question written in Title Case: there a capital says nothing about a name.
    """
    later = re.findall(r"[A-Za-z][\w'-]*", question)[1:]
    if sum(w[0].isupper() and w.lower() in _NOT_NAME - {"i", "i'm", "i've"} for w in later) >= 2:
        return []
    names = []
    for piece in re.split(r"'s\b|[/?,;:()]", question):
        for m in _NAME.finditer(piece):
            words = m.group(0).split()
            while words and words[0].lower() in _NOT_NAME:
                words = words[1:]
            while words and words[-1].lower() in _NOT_NAME:
                words = words[:-1]
            name = " ".join(words)
            # "October 2025", "15 March": a date, not a product (the documents may date it
            # otherwise, "2025-10-06"; the figure checks judge dates)
            if len(words) >= 2 and not any(m.kind == "date" for m in mentions(name)):
                names.append(name)
    return names


def missing_names(question: str, texts: Sequence[str],
                  search: Callable[[str], Sequence[str]] | None = None) -> list[str]:
    """The names `question` uses that none of `texts` holds (case and spacing folded).

    `search(name)`: more texts to look in (the index's best keyword matches for the name),
    asked only for a name the retrieved `texts` miss: "Orbit Business" in a question about
    adding Orbit Metal to it may be in no passage retrieval ranked for Metal.
    """
    def holds(name: str, pool: Sequence[str]) -> bool:
        return any(name.lower() in " ".join(t.split()).lower() for t in pool)

    return [n for n in question_names(question)
            if not holds(n, texts) and not (search is not None and holds(n, search(n)))]


def index_search(index: object, k: int = 20) -> Callable[[str], Sequence[str]] | None:
    """`search` for an index with keyword search: the texts of its top-k BM25 chunks."""
    query, chunk = getattr(index, "keyword_query", None), getattr(index, "chunk", None)
    if query is None or chunk is None:
        return None
    return lambda name: [chunk(cid).text for cid, _ in query(name, k)]
