"""Sentence-level context: send the model the lines that answer, not four whole chunks.

The 135M local model picks the wrong row of a table or the old value of a "previously"
line when it sees whole chunks (measured: ../shared/OFFLINE_MODELS.md, bench/citations.py).
Here each retrieved chunk is split into units (sentences, table rows, list items), each
unit is scored against the question with the embedder, and only the best few are kept,
grouped by their chunk, with old values marked as old. Pure functions: the embedder is
passed in as a function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from lib.generation.grounding import Mention, mentions
from lib.generation.names import question_names
from lib.generation.overlap import content_words, idf_overlap
from lib.types import Hit

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised rows
# A line that is a heading: Markdown "## x", or a numbered PDF heading "3. OB-7731 ...".
_HEADING = re.compile(r"^(?:#{1,6}\s+\S|\d+(?:\.\d+)*\.?\s+[A-Z][^.]*$)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'£])")
# "(previously £14.99 until 28 February 2026)", "changed from £14.99 to £12.99"
_PREVIOUSLY = re.compile(r"\(\s*previously\s+([^)]*)\)", re.IGNORECASE)
_CHANGED = re.compile(r"\b(changed|raised|increased|reduced|lowered|cut|went (?:up|down)) "
                      r"from (.+?) to ", re.IGNORECASE)
@dataclass(frozen=True)
class Unit:
    """One sentence, table row or list item of a retrieved chunk."""

    hit_index: int  # position of its hit in the retrieved list
    position: int  # order inside its chunk
    text: str  # as the model will see it (old values marked)
    heading: str  # the nearest heading above it in its chunk ("" when none)
    stale: bool  # it states an old value ("previously", "changed from")
    score: float = 0.0
    plain: str = ""  # the text with its old values cut out: what is scored
    original: str = ""  # as the document wrote it (what a quote shows)


def mark_stale(text: str) -> tuple[str, bool]:
    """Say which value is current: '£12.99 (previously £14.99)' -> '£12.99 (now; old: £14.99)'.

    Returns the marked text and whether it held an old value.
    """
    marked = _PREVIOUSLY.sub(lambda m: f"(this is the current value; the old value "
                                       f"{m.group(1).strip()} no longer applies)", text)
    marked = _CHANGED.sub(lambda m: f"{m.group(1)} (old value {m.group(2)}) to ", marked)
    return marked, marked != text


def strip_old_values(text: str) -> str:
    """The text with its old values cut out ("(previously £14.99)", "changed from X to ")."""
    return _CHANGED.sub(r"\1 to ", _PREVIOUSLY.sub("", text))


def _table_row(line: str, header: list[str] | None) -> str:
    """A Markdown table row as 'Header: cell; ...' (a row alone loses its column names)."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if header and len(header) == len(cells):
        return "; ".join(f"{h}: {c}" for h, c in zip(header, cells, strict=True) if c)
    return " | ".join(c for c in cells if c)


def split_units(text: str) -> list[tuple[str, str]]:
    """(heading, unit) pairs of a chunk: sentences, table rows, list items, in order.

    PDF text wraps lines mid-sentence: a line starting in lower case, or one inside a
    parenthesis the last line opened ("(previously" / "4.45% AER)"), continues the last.
    """
    units: list[tuple[str, str]] = []
    heading, header = "", None
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        open_paren = bool(lines) and lines[-1].count("(") > lines[-1].count(")")
        if lines and not line.startswith("|") and (open_paren or (
                line[0].islower() and not lines[-1].endswith((".", ":", "|")))):
            lines[-1] += " " + line  # a wrapped line: lower case, or inside "( ... )"
        else:
            lines.append(line)
    for line in lines:
        if line.startswith("|"):
            if re.fullmatch(r"\|[\s|:-]+\|?", line):
                continue  # the |---| separator
            if header is None:
                header = [c.strip() for c in line.strip().strip("|").split("|")]
                continue
            units.append((heading, _table_row(line, header)))
            continue
        header = None
        if _HEADING.match(line):
            heading = line.lstrip("#").strip()
            continue
        item = re.sub(r"^(?:[-*•]|\d+\.)\s+", "", line)
        units += [(heading, s) for s in _SENTENCE_END.split(item) if s.strip()]
    return units


# PDF page furniture: "Orbit Business Account Guide (OB-5050) - Page 1 of 3".
PAGE_LINE = re.compile(r"\bPage \d+ of \d+\b")


def running_headers(hits: Sequence[Hit]) -> frozenset[str]:
    """Lines that open two or more pages of one document: a PDF's running header ("Orbit
    Bank | Orbit Bank Account Terms and Conditions"), furniture, not content.

    A question naming the document's title matched it better than the clause that answers
    and the header filled the context. Seen only when two hits start their pages (chunk
    offset 0): two table rows may open chunks on two pages too. Text and Markdown chunks
    have no page, so they never count.
    """
    pages: dict[tuple[str, str], set[int]] = {}
    for hit in hits:
        first = next((ln.strip() for ln in hit.chunk.text.splitlines() if ln.strip()), "")
        if first and hit.chunk.page is not None and hit.chunk.start == 0:
            pages.setdefault((hit.chunk.doc_id, first), set()).add(hit.chunk.page)
    return frozenset(line for (_, line), seen in pages.items() if len(seen) >= 2)


def without_headers(text: str, headers: frozenset[str]) -> str:
    """`text` less its running-header lines and the title line a header repeats (three or
    more words of it: "Orbit Bank Account Terms and Conditions" on page 1)."""
    if not headers:
        return text
    def furniture(line: str) -> bool:
        line = line.strip()
        return line in headers or (len(line.split()) >= 3 and any(line in h for h in headers))
    return "\n".join(ln for ln in text.splitlines() if not furniture(ln))


def units_of(hits: Sequence[Hit], old_values: str = "mark") -> list[Unit]:
    """Every unit of every hit; the chunk's section is the default heading.

    `old_values`: "mark" says which value is current (mark_stale); "drop" cuts old ones out.
    A legal clause's leading number is cut off. "Page n of m" lines and running headers
    are skipped, and a line already seen in a better-ranked chunk (chunks overlap) is kept
    once.
    """
    seen: set[str] = set()
    out = []
    headers = running_headers(hits)
    for i, hit in enumerate(hits):
        for pos, (heading, text) in enumerate(split_units(without_headers(hit.chunk.text,
                                                                          headers))):
            if text in seen or PAGE_LINE.search(text):
                continue
            seen.add(text)
            # "10.2 For complaints ... within 15 business days": the small model read the
            # clause number as the answer ("10 business days"); the model sees the clause alone.
            body = CLAUSE_NUMBER.sub("", text, count=1)
            marked, stale = mark_stale(body)
            plain = strip_old_values(body)
            shown = plain if old_values == "drop" else marked
            out.append(Unit(i, pos, shown, heading or (hit.chunk.section or ""), stale,
                            plain=plain, original=body))
    return out


def score_units(question: str, units: Sequence[Unit], q_vector: np.ndarray,
                embed: Embed, ranks: Sequence[int] = ()) -> list[Unit]:
    """Each unit scored: cosine to the question (unit read with its heading) + word overlap.

    `ranks` (0-based retrieval rank of each hit) add a prior: hybrid retrieval, which also
    weighs exact words, ranked the chunk; a unit of the top chunk gets RANK_WEIGHT / 1.

    The overlap term (share of the question's content words in the unit or its heading)
    lifts rows that name the product the question asks about, which cosine on a short
    table row blurs.
    """
    if not units:
        return []
    # Scored without the old values, so a long "(previously ...)" aside does not dilute it.
    texts = [u.plain or u.text for u in units]
    vectors = embed([f"{u.heading}: {t}" if u.heading else t for u, t in zip(units, texts,
                                                                             strict=True)])
    cos = vectors @ q_vector
    overlaps = idf_overlap(question, [f"{u.heading} {t}" for u, t in zip(units, texts,
                                                                          strict=True)])
    wanted = asked_kinds(question)
    out = []
    for u, t, c, overlap in zip(units, texts, cos, overlaps, strict=True):
        has = bool(wanted) and gives_figure(question, t)
        prior = RANK_WEIGHT / (1 + ranks[u.hit_index]) if ranks else 0.0
        other = about_another_product(question, f"{u.heading} {t}")
        out.append(replace(u, score=float(c) + OVERLAP_WEIGHT * overlap + prior
                           + (FIGURE_BONUS if has else 0.0) - (ID_PENALTY if other else 0.0)))
    return out


OVERLAP_WEIGHT = 0.3  # cosine spans ~0.1-0.8 here; overlap 0-1: a third keeps cosine first
# A question asking for a quantity is answered by a unit that holds one: the bonus lifts
# "Late payment fee £12" over prose about the same product (cosine blurs table rows).
FIGURE_BONUS = 0.15
RANK_WEIGHT = 0.1  # rank 1 +0.1, rank 2 +0.05, ...: a tie-breaker, not a ranking
# A unit about another product than the one asked about ("OB-3310 ..." for a question on
# OB-2204, "Orbit Fixed Saver 12M" for one on Orbit Saver) is about something else,
# however similar its words.
ID_PENALTY = 0.2


def ids_in(text: str) -> set[str]:
    """Product IDs, error codes and versions named in `text` (lower case)."""
    return {m.text.lower() for m in mentions(text) if m.kind == "id"}


def about_another_product(question: str, text: str) -> bool:
    """True when `text` is about another product than the one `question` names: another
    ID or version (OB-3310 for a question on OB-2204), or a sibling name and not the
    question's ("Orbit Fixed Saver 12M" for a question on Orbit Saver)."""
    q_ids, q_names = _named_products(question)
    if q_ids and (ids := ids_in(text)) and not q_ids & ids:
        return True
    if not q_names:
        return False
    low = " ".join(text.split()).lower()
    if any(n in low for n in q_names):
        return False
    return any(_siblings(n, m.lower()) for n in q_names for m in question_names(text))


@lru_cache(maxsize=256)  # asked once per unit and line: the question is the same
def _named_products(question: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The IDs and the multi-word product names (lower case) `question` names."""
    return frozenset(ids_in(question)), tuple(n.lower() for n in question_names(question))


def _siblings(a: str, b: str) -> bool:
    """Two names of one family: neither holds the other, same brand (first word), and a
    word after it shared ("orbit saver" and "orbit fixed saver 12m"; not "orbit bank" and
    "orbit metal", nor "replacement metal", a row that opens a sentence with a capital)."""
    if a in b or b in a:
        return False
    wa, wb = a.split(), b.split()
    return wa[0] == wb[0] and bool(set(wa[1:]) & set(wb[1:]))
_ASKS = (
    (re.compile(r"\b(?:rate|margin|apr|aer|ear|interest|percent(?:age)?)\b", re.IGNORECASE),
     {"percent"}),
    (re.compile(r"\b(?:fee|cost|price|charge|how much|pay|limit|lose|minimum|maximum)\b"
                r"|\b(?:the|at)\s+(?:most|least)\b", re.IGNORECASE),
     {"money", "percent", "number"}),
    (re.compile(r"\bhow (?:many|long|high|often|big|soon)\b|\bwithin\b", re.IGNORECASE),
     {"number", "money", "date"}),
    # "When will ...?", "by when": a question word; "an error when sending" is not.
    (re.compile(r"\bwhen\s+(?:will|does|do|did|is|are|was|were|can|should|must|would|could"
                r"|has|have)\b|\b(?:by|until|till)\s+when\b|\b(?:date|until|deadline)\b",
                re.IGNORECASE), {"date", "time"}),
    # "By what time ...?", "What time does ... close?": a clock time.
    (re.compile(r"\b(?:what|which)\s+time\b", re.IGNORECASE), {"time"}),
    # "What number can I call?": a phone number (an ID to the checks) or a plain one.
    (re.compile(r"\b(?:what|which)\s+(?:phone\s+|telephone\s+)?number\b", re.IGNORECASE),
     {"number", "id"}),
)


def asked_kinds(question: str) -> set[str]:
    """The kinds of figure the question asks for (grounding.py's kinds), maybe none."""
    return {k for pattern, kinds in _ASKS if pattern.search(question) for k in kinds}


FIGURE_KINDS = frozenset({"money", "percent", "number", "date", "time"})  # not "id"
# A legal clause's number ("7.2 Where a payment was unauthorised ...") is not a value.
CLAUSE_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)+\s")
_GLUED_NUMBER = re.compile(r"(?<=[A-Za-z])\d+(?:\.\d+)?|\d+(?:\.\d+)?(?=[A-Za-z])")


@lru_cache(maxsize=256)  # asked once per selected unit: the question is the same
def named_keys(question: str) -> frozenset[str]:
    """Keys of the figures the question itself names, including a number inside a name
    ("12" of "Fixed Saver 12M"): an answer repeating one has not chosen a figure."""
    keys = {k for m in mentions(question) for k in m.keys}
    glued = (m for n in _GLUED_NUMBER.findall(question) for m in mentions(n))
    return frozenset(keys | {k for m in glued for k in m.keys})


# Counts written out: the figure checks look for digits, but "five team members" answers
# "how many". A count is followed by what it counts: "a regular one", "in one go" are not.
COUNT_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|sixty|ninety|hundred|thousand|dozen)\s+"
    r"(?!(?:of|go|another|or|and|by|at|time|in|on|to|for|with|from|is|are|if)\b)[a-z]",
    re.IGNORECASE)
_ASKS_COUNT = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b", re.IGNORECASE)


def gives_count(question: str, text: str) -> bool:
    """True when `question` asks how many and `text` writes a count in words ("You can hold
    up to five Fixed Savers"), which the figure checks, reading digits, do not see."""
    return bool(_ASKS_COUNT.search(question)) and bool(COUNT_WORD.search(text))


def gives_figure(question: str, text: str) -> bool:
    """True when `text` holds a figure that could answer `question` (answer_figures): of a
    kind it asks for, other than one it names itself ("Fixed Saver 12M"), or a count in
    words for "how many" (gives_count)."""
    return bool(answer_figures(question, text)) or gives_count(question, text)


def answer_figures(question: str, text: str) -> list[Mention]:
    """The figures in `text` that could answer `question`: of a kind it asks for (any but
    an ID when it names none), not a numbered clause's number, not one it names itself."""
    kinds = asked_kinds(question) or FIGURE_KINDS
    named = named_keys(question)
    clause_at = len(text) - len(text.lstrip()) if CLAUSE_NUMBER.match(text) else -1
    return [m for m in mentions(text) if m.kind in kinds and not m.keys & named
            and m.start != clause_at]


def supersede(units: Sequence[Unit]) -> list[Unit]:
    """Drop changelog lines a later dated line about the same item replaced.

    Two "changed" units whose headings hold dates and whose words mostly agree (Jaccard
    >= 0.5) describe the same item: only the latest is the current value.
    """
    dated = [(u, _heading_date(u.heading)) for u in units]
    out = []
    for u, d in dated:
        words = content_words(u.plain or u.text)
        newer = d is not None and u.stale and any(
            v.stale and e is not None and e > d
            and len(words & (vw := content_words(v.plain or v.text))) / max(1, len(words | vw)) >= 0.5
            for v, e in dated)
        if not newer:
            out.append(u)
    return out


def _heading_date(heading: str) -> str | None:
    """The ISO date a heading starts with ("2026-02-01: Orbit Saver rate change")."""
    m = re.match(r"\s*(\d{4}-\d{2}-\d{2})\b", heading)
    return m.group(1) if m else None


@dataclass(frozen=True)
class Excerpt:
    """What the model sees of one source: its hit and the selected units, best last."""

    hit: Hit
    units: tuple[Unit, ...]

    @property
    def best(self) -> float:
        return max(u.score for u in self.units)

    @property
    def text(self) -> str:
        """The heading once, then the units (one per line)."""
        heading = self.units[0].heading
        body = "\n".join(u.text for u in self.units)
        section = self.hit.chunk.section or ""
        return f"{heading}\n{body}" if heading and heading != section else body


def select(scored: Sequence[Unit], hits: Sequence[Hit], max_units: int = 4,
           max_sources: int = 4) -> list[Excerpt]:
    """The best `max_units` units, grouped by source, the most relevant source last.

    A current value beats the same line's old value by construction (mark_stale); a unit
    that only states old values ranks below an equally scored current one (ties).
    """
    ranked = sorted(supersede(scored), key=lambda u: (u.score, not u.stale), reverse=True)
    chosen: dict[int, list[Unit]] = {}
    for u in ranked:
        if len(chosen) >= max_sources and u.hit_index not in chosen:
            continue
        chosen.setdefault(u.hit_index, []).append(u)
        if sum(len(v) for v in chosen.values()) >= max_units:
            break
    # Small models weigh what is closest to the question: inside an excerpt and across
    # them, the best unit goes last (measured: the first of several error-code lines won).
    excerpts = [Excerpt(hits[i], tuple(sorted(us, key=lambda u: u.score)))
                for i, us in chosen.items()]
    return sorted(excerpts, key=lambda e: e.best)
