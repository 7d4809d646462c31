"""A condition the question states against a limit a source sets: "I'm 72" vs "aged 70 or under".

The 135M model answered "yes" to "I'm 72: would the Metal travel insurance cover me?" with
the rule "for cardholders aged 70 or under" in front of it. This compares numbers, not
words: the question's own age or amount against the bound written on the source line that
best matches the question. Only a yes/no question answered "yes" is judged: a "no", or an
answer that states the rule with a "but", may be right however it is worded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lib.generation.context import ID_PENALTY, about_another_product, units_of
from lib.generation.grounding import mentions
from lib.generation.lines import Line
from lib.generation.overlap import idf_overlap
from lib.types import Hit

# The question's own value: "I'm 72", "I am 17", "aged 72", "a 16-year-old", "72 years old".
_AGE = re.compile(r"\b(?:i'?m|i\s+am|aged?)\s+(\d{1,3})\b(?!\s*(?:%|[:.]\d|am\b|pm\b|days?|"
                  r"weeks?|months?|hours?|minutes?|times?))|\b(\d{1,3})[- ]years?[- ]old\b",
                  re.IGNORECASE)
_AMOUNT = r"£\s?(\d[\d,]*(?:\.\d+)?)"  # "£2,000": the number in group 1
_MONEY = re.compile(_AMOUNT)
_YEARS = r"(\d{1,3})"
# (kind, pattern, which side the figure bounds); "up to £1,000": at most; "aged 18 or over".
_BOUNDS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("age", re.compile(rf"\baged\s+{_YEARS}\s+or\s+(?:over|above|older|more)\b", re.I), "low"),
    ("age", re.compile(rf"\baged\s+{_YEARS}\s+or\s+(?:under|below|younger|less)\b", re.I), "high"),
    ("age", re.compile(rf"\bat\s+least\s+{_YEARS}\s+years?\s+old\b", re.I), "low"),
    ("age", re.compile(rf"\b(?:aged\s+)?(?:under|below)\s+(?:the\s+age\s+of\s+)?{_YEARS}\b"
                       r"(?=\s*(?:years?|s\b|\)|,|\.|$))", re.I), "below"),
    ("money", re.compile(rf"\b(?:up\s+to|at\s+most|maximum(?:\s+of)?|no\s+more\s+than)\s+"
                         rf"{_AMOUNT}", re.I), "high"),
    ("money", re.compile(rf"\b(?:at\s+least|minimum(?:\s+of)?)\s+{_AMOUNT}", re.I), "low"),
)
# A yes/no question: a clause opening with an auxiliary ("Would the insurance cover me?").
_YES_NO = re.compile(r"(?:^|[.!?]\s+|,\s*)(?:would|will|can|could|am|is|are|do|does|may|"
                     r"should|am\s+i|is\s+there)\b[^.!?]*\?", re.IGNORECASE)
_YES = re.compile(r"\byes\b", re.IGNORECASE)
_NOT = re.compile(r"\b(?:no|not|cannot|can't|won't|isn't|aren't|doesn't|don't|only|unless|"
                  r"but|however|although)\b", re.IGNORECASE)


# A bound counts on a line scoring at least this share of the best line's score: the age
# limit of another product's rule is no answer to this question.
RELEVANT = 0.5


@dataclass(frozen=True)
class Broken:
    """The question's value outside a source's bound: "72" against "aged 70 or under"."""

    value: str  # as the question writes it
    bound: str  # as the source writes it
    line: Line  # the source line holding the bound


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def question_values(question: str) -> dict[str, tuple[float, str]]:
    """The question's own age and amount, by kind: {"age": (72.0, "72"), ...}."""
    out: dict[str, tuple[float, str]] = {}
    if m := _AGE.search(question):
        raw = m.group(1) or m.group(2)
        out["age"] = (_number(raw), raw)
    if m := _MONEY.search(question):
        out["money"] = (_number(m.group(1)), m.group(0))
    return out


def outside(value: float, side: str, limit: float) -> bool:
    """True when `value` breaks a bound of `side` ("low": at least, "high": at most,
    "below": strictly under)."""
    return {"low": value < limit, "high": value > limit, "below": value >= limit}[side]


def broken_condition(question: str, text: str, sources: Sequence[Hit]) -> Broken | None:
    """The bound a "yes" to a yes/no `question` ignores, on the line that best matches the
    question among those bounding the question's own value; None when there is none."""
    values = question_values(question)
    if not values or not _YES_NO.search(question) or not _YES.search(text) or _NOT.search(text):
        return None
    # Every sentence competes, figure-free ones too ("Four airport lounge visits a year"):
    # a limit on a sentence about something else is no answer to this question.
    units = units_of(sources, old_values="drop")
    texts = [f"{u.heading} {u.text}" for u in units]
    scores = [s - (ID_PENALTY if about_another_product(question, t) else 0.0)
              for s, t in zip(idf_overlap(question, texts), texts, strict=True)]
    top = max(scores, default=0.0)
    for score, _, unit in sorted(zip(scores, range(len(units)), units, strict=True),
                                 reverse=True):
        if score < RELEVANT * top:
            return None  # no sentence about what is asked sets a bound on it
        line = Line(unit.hit_index + 1, unit.text, unit.heading, tuple(mentions(unit.text)))
        for kind, pattern, side in _BOUNDS:
            if kind not in values:
                continue
            for m in pattern.finditer(line.text):
                value, written = values[kind]
                if outside(value, side, _number(m.group(1))):
                    return Broken(written, m.group(0), line)
                return None  # the best bounding line allows it: "yes" may be right
    return None


def condition_reason(broken: Broken) -> str:
    """Why the check fails, in one line."""
    return (f"the answer says yes, but the question's {broken.value} is outside "
            f"\"{broken.bound}\" in [{broken.line.source}]")
