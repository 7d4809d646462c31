"""Pure helpers behind the Search lab page: matched words, overlap badges, per-query metrics."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.beir import read_judgments
from lib.evaluation.metrics import recall_at_k
from lib.retrieval.keyword import TOKEN_RE, analyze
from lib.samples import LabelledQuery
from lib.types import Chunk, Hit

Passages = dict[str, dict[str, tuple[str, ...]]]

# Badge for a chunk found by more than one column: the same emoji in every column it is in.
BADGES = ("🟦", "🟧", "🟩", "🟪", "🟥", "🟨", "🟫", "🔷", "🔶", "🟢", "🟣", "🔴")


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """(start, end) of each word in `text` that shares an analyzed term with the query.

    So "fees" matches for "fee", and "OB-7731" for "7731" (ui.search_lab_html marks them).
    """
    terms = _highlight_terms(query)
    return [m.span() for m in TOKEN_RE.finditer(text) if terms & set(analyze(m.group()))]


def snippet_window(text: str, spans: Sequence[tuple[int, int]], max_chars: int) -> tuple[int, int]:
    """The (start, end) of a snippet: it starts shortly before the first match, ends on a space."""
    start = 0
    if spans and spans[0][0] > max_chars // 3:
        start = text.rfind(" ", 0, spans[0][0] - max_chars // 4) + 1
    end = min(len(text), start + max_chars)
    if end < len(text):
        end = max(text.rfind(" ", start, end), start + max_chars // 2)
    return start, end


def _highlight_terms(query: str) -> set[str]:
    """The query's terms, but an identifier counts only whole: "OB-7731" must not mark "OB-6120"
    through their shared part "ob" (BM25 still scores the parts; that is ranking, not display)."""
    terms: set[str] = set()
    for match in TOKEN_RE.finditer(query):
        analysed = analyze(match.group())
        is_compound = len(analysed) > 1 and analysed[0] == match.group().casefold()
        terms.update(analysed[:1] if is_compound else analysed)
    return terms


def shared_badges(columns: Mapping[str, Sequence[Hit]]) -> dict[str, str]:
    """chunk id -> badge, for chunks listed in two or more columns (first-seen order)."""
    seen: dict[str, int] = {}
    for hits in columns.values():
        for chunk_id in dict.fromkeys(h.chunk.id for h in hits):
            seen[chunk_id] = seen.get(chunk_id, 0) + 1
    shared = [cid for cid, n in seen.items() if n > 1]
    return {cid: BADGES[i % len(BADGES)] for i, cid in enumerate(shared)}


def overlap_summary(vector: Sequence[Hit], keyword: Sequence[Hit], hybrid: Sequence[Hit]) -> str:
    """One sentence on how much the three lists agree."""
    v, kw, hy = ({h.chunk.id for h in hits} for hits in (vector, keyword, hybrid))
    if not (v or kw):
        return "No results to compare."
    size = max(len(v), len(kw))
    sentence = f"Vector and keyword agree on {len(v & kw)} of {size}"
    if hy:
        sentence += f"; hybrid keeps {len(hy & v)} of vector's and {len(hy & kw)} of keyword's"
    return sentence + "."


@dataclass(frozen=True)
class QueryScore:
    """One column's quality on a labelled query (document level, as the Evaluate page)."""

    recall: float  # relevant documents among the hits / all relevant documents
    reciprocal_rank: float  # 1 / rank of the first hit from a relevant document, else 0
    relevant_ids: frozenset[str]  # chunk ids of hits that come from a relevant document
    passage_ids: frozenset[str] = frozenset()  # ... and that lie in a labelled passage
    passage_rank: int | None = None  # rank of the first hit in a labelled passage


def score_hits(
    hits: Sequence[Hit],
    relevant: Mapping[str, int],
    passages: Mapping[str, Sequence[str]] | None = None,
) -> QueryScore:
    """Recall@len(hits) over documents and reciprocal rank, for labels keyed by file name.

    `passages` (document -> labelled headings or page numbers) adds the finer check: a whole
    document can be relevant while the hit is its table of contents.
    """
    docs = list(dict.fromkeys(h.chunk.doc_name for h in hits))
    recall = recall_at_k(docs, relevant, len(docs)) if docs else 0.0
    good = [h for h in hits if relevant.get(h.chunk.doc_name, 0) > 0]
    rr = 1.0 / good[0].rank if good else 0.0
    exact = [h for h in good if in_passage(h.chunk, (passages or {}).get(h.chunk.doc_name, ()))]
    return QueryScore(
        recall,
        rr,
        frozenset(h.chunk.id for h in good),
        frozenset(h.chunk.id for h in exact),
        exact[0].rank if exact else None,
    )


def in_passage(chunk: Chunk, locations: Sequence[str]) -> bool:
    """Whether a chunk lies in one of a document's labelled passages.

    A location is a PDF page number, a Markdown heading (the chunk's section), or, for text
    files without sections, a heading line the chunk contains (so only a section's first chunk).
    """
    for location in locations:
        if chunk.page is not None:
            if location == str(chunk.page):
                return True
        elif chunk.section is not None:
            if location == chunk.section:
                return True
        elif location.casefold() in chunk.text.casefold():
            return True
    return False


def labelled_passages(path: Path = SAMPLE_DOCS_DIR / "eval" / "qrels.tsv") -> Passages:
    """query id -> document -> passages, from the optional 4th qrels column ("; "-separated)."""
    out: Passages = {}
    if not path.is_file():
        return out
    for row in read_judgments(path):
        places = tuple(p.strip() for p in row.location.split("; ") if p.strip())
        if row.grade > 0 and places:
            out.setdefault(row.query_id, {})[row.doc_id] = places
    return out


_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text.casefold()).strip(" ?.!")


def match_labelled(query: str, labelled: Sequence[LabelledQuery]) -> LabelledQuery | None:
    """The labelled query with this text (case, spacing and end punctuation ignored)."""
    wanted = _normal(query)
    return next((q for q in labelled if q.relevant and _normal(q.text) == wanted), None)
