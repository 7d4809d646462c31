"""The abstention curve: in-scope answer rate against out-of-scope false-answer rate (pure).

Chat abstains when the top chunk's cosine similarity is below a threshold
(lib.generation.rag.DEFAULT_MIN_CONFIDENCE). Moving the threshold trades answering more
in-scope questions against answering more that the documents do not cover; each distinct
score is a point of the curve. Labelled questions say which side they are on: the sample
set's `"type": "out_of_scope"`, or an `in_scope` column (true/false) in the user's file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.evaluation.beir import DatasetError
from lib.generation.rag import calibrate, retrieval_confidence

_FALSE = {"false", "no", "0", "out", "out_of_scope", "n"}


@dataclass(frozen=True)
class ScopedQuestion:
    """A question labelled in scope (the documents answer it) or out of scope."""

    id: str
    text: str
    in_scope: bool


def in_scope(row: dict[str, Any]) -> bool:
    """An `in_scope` column wins; else `"type": "out_of_scope"` marks one out of scope."""
    if "in_scope" in row:
        value = row["in_scope"]
        return value if isinstance(value, bool) else str(value).strip().lower() not in _FALSE
    return str(row.get("type", "")).strip().lower() != "out_of_scope"


def read_scoped(text: str, name: str = "queries.jsonl") -> list[ScopedQuestion]:
    """Questions from JSON lines (`_id` or `id`, `text`, and `in_scope` or `type`)."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            qid = str(row.get("_id", row.get("id", number)))
            out.append(ScopedQuestion(qid, str(row["text"]), in_scope(row)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(f"{name} line {number}: needs JSON with a \"text\" field") from exc
    if not any(q.in_scope for q in out) or all(q.in_scope for q in out):
        raise DatasetError(
            f"{name} needs both in-scope and out-of-scope questions "
            '(mark the latter with "in_scope": false)'
        )
    return out


@dataclass(frozen=True)
class AbstentionPoint:
    """At one threshold: the share of in-scope questions answered, and of out-of-scope ones."""

    threshold: float
    answered: float  # in-scope questions answered (higher is better)
    false_answers: float  # out-of-scope questions answered anyway (lower is better)


@dataclass(frozen=True)
class AbstentionCurve:
    """Every useful threshold, from answering everything to answering nothing."""

    in_scope: tuple[float, ...]  # each in-scope question's confidence
    out_of_scope: tuple[float, ...]
    points: tuple[AbstentionPoint, ...]

    def at(self, threshold: float) -> AbstentionPoint:
        """The rates at any threshold (answer when confidence >= threshold)."""
        return rates(self.in_scope, self.out_of_scope, threshold)

    def best(self) -> float:
        """The threshold with the best accuracy (lib.generation.rag.calibrate)."""
        return calibrate(self.in_scope, self.out_of_scope).threshold


def rates(inside: Sequence[float], outside: Sequence[float], threshold: float) -> AbstentionPoint:
    """Answer rates at one threshold."""
    answered = sum(s >= threshold for s in inside) / max(1, len(inside))
    false = sum(s >= threshold for s in outside) / max(1, len(outside))
    return AbstentionPoint(threshold, answered, false)


def abstention_curve(inside: Sequence[float], outside: Sequence[float]) -> AbstentionCurve:
    """The curve's points at 0, at every distinct score, and just above the highest."""
    scores = sorted({0.0, *inside, *outside})
    thresholds = [*scores, scores[-1] + 1e-6]
    points = tuple(rates(inside, outside, t) for t in thresholds)
    return AbstentionCurve(tuple(inside), tuple(outside), points)


def score_questions(index: Any, questions: Sequence[ScopedQuestion]) -> AbstentionCurve:
    """Each question's retrieval confidence on an index (what Chat compares to the threshold)."""
    scores = [(q.in_scope, retrieval_confidence(index, q.text)) for q in questions]
    return abstention_curve([s for i, s in scores if i], [s for i, s in scores if not i])
