"""Which line of the sources an answer's figure came from: the wrong row, or an old value.

The grounding check (grounding.py) finds each figure somewhere in a cited source, but a
small model often copies a figure that is there from the wrong line: the payment
initiation limit for a question about account information, the business sort code for a
question about the SWIFT code, an old "previously" price. This check looks at the lines
(sentences, table rows, clauses) that hold the figure and at the lines that hold other
figures of the same kind, and scores each against the question's words (rare words
count more). A figure is flagged when another figure's line matches the question clearly
better, or when the figure appears only as an old value. An answer to a "how much"
question that gives no figure at all, while the sources hold one, is flagged too
(`no_figure`). Pure text rules: every provider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lib.generation.context import (
    CLAUSE_NUMBER,
    ID_PENALTY,
    PAGE_LINE,
    about_another_product,
    asked_kinds,
    gives_count,
    gives_figure,
    running_headers,
    split_units,
    strip_old_values,
    without_headers,
)
from lib.generation.grounding import Mention, declines, mentions
from lib.generation.overlap import content_words, idf_overlap
from lib.types import Figure, Grounding, Hit

# Another line must match the question by this much more (a share of the question's
# IDF-weighted words, 0..1) before the answer's figure is called the wrong line. Chosen on
# the bundled and first held-out questions' raw answers (base and adapter): every figure
# whose rival led by >= 0.15 was a wrong answer, and a right one led by 0.12 at most.
# Below it the answer's line is as good a reading of the question as any.
MARGIN = 0.15
# Clause boundaries inside one sentence that lists two values ("personal accounts use
# 04-62-18 and business accounts use 04-62-19").
_CLAUSE = re.compile(r";\s+|,?\s+(?:and|but|while|whereas)\s+(?=\D)")


@dataclass(frozen=True)
class Line:
    """One place in the sources: a table row, or a sentence's clause, with its figures."""

    source: int  # 1-based source number
    text: str  # the clause as the document wrote it, old values cut out
    heading: str  # the nearest heading above it ("" when none)
    figures: tuple[Mention, ...]  # current values only

    @property
    def words(self) -> str:
        """What is scored against the question: the heading, then the text."""
        return f"{self.heading} {self.text}"


def _clauses(text: str) -> list[str]:
    """A sentence split where it lists several values; a figure-free piece joins the one
    before, or the one after when it opens the sentence ("For complaints about payment
    services, such as card payments | and transfers, ... 15 business days")."""
    parts = [p for p in _CLAUSE.split(text) if p.strip()]
    out: list[str] = []
    lead = ""
    for part in parts:
        if not mentions(part):
            if out:
                out[-1] = f"{out[-1]} {part}"
            else:
                lead = f"{lead} {part}".strip()
        else:
            out.append(f"{lead} {part}".strip())
            lead = ""
    return out or ([lead] if lead else [])


def lines_of(sources: Sequence[Hit]) -> tuple[list[Line], dict[tuple[int, str], Line]]:
    """Every line of the sources with its current figures; (source, old-value key) -> the
    line that states the current value instead."""
    lines: list[Line] = []
    old: dict[tuple[int, str], Line] = {}
    headers = running_headers(sources)
    for n, hit in enumerate(sources, 1):
        for heading, unit in split_units(without_headers(hit.chunk.text, headers)):
            if PAGE_LINE.search(unit):  # "Page 1 of 4": page furniture, no value
                continue
            plain = " ".join(strip_old_values(unit).split())  # a cut-out aside leaves "  "
            current = {k for m in mentions(plain) for k in m.keys}
            pieces = [plain] if ":" in plain and ";" in plain else _clauses(plain)  # table rows
            for piece in (p.strip() for p in pieces):
                found = tuple(f for f in mentions(piece)
                              if not (f.start == 0 and CLAUSE_NUMBER.match(piece)))
                if found:
                    lines.append(Line(n, piece, heading, found))
            for key in {k for m in mentions(unit) for k in m.keys} - current:
                old.setdefault((n, key), Line(n, plain, heading, tuple(mentions(plain))))
    return lines, old


# The answer itself calls the figure old: "(previously £14.99)", "was £15", "down from 60".
_OLD_WORDS = re.compile(r"\b(?:previous(?:ly)?|old|was|were|used to be|before|from|until)\W+\S*\W*$",
                        re.IGNORECASE)


def _said_old(text: str, m: Mention) -> bool:
    """True when the answer introduces the figure as an old value."""
    return bool(_OLD_WORDS.search(text[max(0, m.start - 30):m.start]))


# What kind of rate a percentage is: "3.85% AER" vs "3.78%" under "Gross rate". An answer
# that calls a value AER when the source's AER is another value copied the wrong column.
_RATE_KIND = re.compile(r"\b(AER|APR|EAR|gross)\b", re.IGNORECASE)
_RATE_KIND_BEFORE = re.compile(r"\b(AER|APR|EAR|gross)(?:\s+rate)?(?:\s+(?:of|is|at))?\s*:?\s*$",
                               re.IGNORECASE)


def rate_kind(text: str, m: Mention) -> str:
    """The rate kind written right after a percentage (or just before: "gross rate of 3.78%")."""
    after = _RATE_KIND.match(text[m.start + len(m.text):m.start + len(m.text) + 12].lstrip(" ("))
    before = _RATE_KIND_BEFORE.search(text[max(0, m.start - 18):m.start])
    found = after or before
    return found.group(1).lower() if found else ""


def _label(text: str, figure: str) -> str:
    """A line as a short reason: its words without the figure, at most ~12 words."""
    words = text.replace(figure, "…").split()
    return (" ".join(words[:12]) + (" …" if len(words) > 12 else "")).rstrip(" .;,:")


def check_lines(question: str, text: str, grounding: Grounding, sources: Sequence[Hit]) -> Grounding:
    """The grounding check with each found figure's line judged against the question.

    A figure gets `better` (what the sources say instead, and where) when a line with
    another figure of its kind matches the question by MARGIN more than any line holding
    it, or when the sources hold it only as an old value. The answer's own other figures
    are never "better" (an answer may give both the fee and the old fee).
    """
    figures = tuple(replace(fig, better=reason) if reason else fig
                    for fig, reason, _ in judge_lines(question, text, grounding, sources))
    return replace(grounding, figures=figures or grounding.figures,
                   missing=no_figure(question, text, sources))


def better_line(question: str, text: str, grounding: Grounding,
                sources: Sequence[Hit]) -> Line | None:
    """The line to answer from instead, for the first figure from a wrong line (else None)."""
    return next((line for _, _, line in judge_lines(question, text, grounding, sources)
                 if line is not None), None)


# Questions that ask for a figure ("how much", "what is the fee", "what rate"): an answer
# to one without a figure did not answer it. Narrower than context.asked_kinds, which
# also reads "pay" ("How do I pay in a cheque?") as a wish for an amount.
_ASKS_FIGURE = re.compile(
    r"\bhow (?:much|many|long|high|big|soon|often|far|early|late)\b|\bwhat date\b"
    r"|\b(?:what|which)\s+(?:time|(?:phone\s+|telephone\s+)?number)\b"
    r"|\b(?:fees?|costs?|price|charges?|rates?|limits?|margin|apr|aer|ear|minimum|maximum"
    r"|deadline)\b|\b(?:the|at)\s+(?:most|least)\b", re.IGNORECASE)


def no_figure(question: str, text: str, sources: Sequence[Hit]) -> str:
    """Why the answer misses the figure its question asks for ("" when it does not).

    Flagged when the question asks for a figure, the answer gives none of the kinds asked
    (a figure the question itself names, "Fixed Saver 12M", does not count) and does not say
    the sources are silent, while a source holds one: the post-check then answers again from
    the best excerpt.
    """
    if not question.strip() or not _ASKS_FIGURE.search(question) or declines(text):
        return ""
    if gives_count(question, text):  # "How many ...?" "Up to five team members"
        return ""
    if gives_figure(question, text) or not any(gives_figure(question, h.chunk.text)
                                               for h in sources):
        return ""
    return "the question asks for a figure and the answer gives none, though the sources hold one"


def line_scores(question: str, lines: Sequence[Line]) -> list[float]:
    """Each line's IDF-weighted share of the question's words, less ID_PENALTY for a line
    about another product than the one the question names (the v2.3.0 changelog line for
    a question about v2.3.1; context.about_another_product), as sentence selection does."""
    overlaps = idf_overlap(question, [ln.words for ln in lines])
    return [s - (ID_PENALTY if about_another_product(question, ln.words) else 0.0)
            for ln, s in zip(lines, overlaps, strict=True)]


def judge_lines(question: str, text: str, grounding: Grounding, sources: Sequence[Hit]
                ) -> list[tuple[Figure, str, Line | None]]:
    """Per figure: (figure, why its line is wrong or "", the better line or None)."""
    if not question.strip() or not grounding.figures:
        return [(fig, "", None) for fig in grounding.figures]
    lines, old = lines_of(sources)
    clauses = clause_numbers(sources)
    answer_mentions = mentions(text)
    given = {k for m in answer_mentions for k in m.keys}
    asked = {k for m in mentions(question) for k in m.keys}
    scores = line_scores(question, lines)
    by_mention = {m.text: m for m in answer_mentions}
    out: list[tuple[Figure, str, Line | None]] = []
    for fig in grounding.figures:
        m = by_mention.get(fig.text)
        # A figure the question names ("What does ERR-5002 mean?") is repeated, not chosen.
        if m is None or not fig.supported or m.keys & asked:
            out.append((fig, "", None))
            continue
        out.append((fig, *_better(m, fig, lines, scores, old, given, _said_old(text, m), text,
                                  clauses)))
    return out


def clause_numbers(sources: Sequence[Hit]) -> set[tuple[int, str]]:
    """(source number, "10.2") for every numbered clause the sources start."""
    return {(n, m.group(1)) for n, hit in enumerate(sources, 1)
            for _, unit in split_units(hit.chunk.text)
            if (m := re.match(r"\s*(\d+(?:\.\d+)+)\s", unit))}


def _better(m: Mention, fig: Figure, lines: Sequence[Line], scores: Sequence[float],
            old: dict[tuple[int, str], Line], given: set[str], said_old: bool, text: str,
            clauses: set[tuple[int, str]]) -> tuple[str, Line | None]:
    """Why figure `m` is from the wrong line, and the better line (("", None) when it is not)."""
    holding = [(s, ln) for ln, s in zip(lines, scores, strict=True)
               if ln.source in fig.sources and any(m.key in f.keys for f in ln.figures)]
    own = [s for s, _ in holding]
    if not own:
        stale = next((old[(n, m.key)] for n in fig.sources if (n, m.key) in old), None)
        if stale is not None and not said_old:
            return "an old value: the sources give it as the previous one", stale
        if m.kind == "number" and any((n, m.text) in clauses for n in fig.sources):
            return "a clause number in the sources, not a value", None
        return "", None  # found as a plain substring (an ID inside a word): nothing to judge
    if kind := rate_kind(text, m) if m.kind == "percent" else "":
        # The same line first ("3.85% AER variable ... 3.78%": the row's own AER), then any.
        called = [(s, ln, f) for s, ln in holding for f in ln.figures
                  if f.kind == "percent" and rate_kind(ln.text, f) == kind] or \
                 [(s, ln, f) for ln, s in zip(lines, scores, strict=True) for f in ln.figures
                  if f.kind == "percent" and rate_kind(ln.text, f) == kind]
        if called and not any(m.key in f.keys for _, _, f in called):
            score, line, rival = max(called, key=lambda r: r[0])
            return f"[{line.source}] gives {rival.text} as the {kind.upper()}", line
    rivals = [(s, ln, f) for ln, s in zip(lines, scores, strict=True) for f in ln.figures
              if f.kind == m.kind and not f.keys & given]
    if not rivals:
        return "", None
    score, line, rival = max(rivals, key=lambda r: r[0])
    if score < max(own) + MARGIN - 1e-9:
        return "", None
    return f'[{line.source}] gives {rival.text} for "{_label(line.text, rival.text)}"', line
