"""Per-query diff between two methods of one report, or one method across two runs (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from lib.evaluation.report import TIE, EvaluationReport, QueryOutcome

METRICS = ("ndcg", "recall", "mrr", "map")  # attribute names of report.Metrics


class Change(StrEnum):
    """How a query moved from A (the baseline) to B."""

    REGRESSED = "regressed"
    SAME = "same"
    IMPROVED = "improved"

    @property
    def arrow(self) -> str:
        """▼, = or ▲."""
        return {"regressed": "▼", "same": "=", "improved": "▲"}[self.value]


@dataclass(frozen=True)
class Side:
    """One side of a diff: a label, the method, and its per-query outcomes by query id."""

    label: str  # e.g. "hybrid" or "run 20261201-2217 hybrid"
    method: str
    outcomes: Mapping[str, QueryOutcome]

    @classmethod
    def of(cls, report: EvaluationReport, method: str, label: str = "") -> Side:
        """A report's method as a side."""
        return cls(label or method, method, {q.id: q for q in report.queries})


@dataclass(frozen=True)
class QueryDiff:
    """One judged query's figure under A and B."""

    id: str
    text: str
    a: float
    b: float

    @property
    def delta(self) -> float:
        """B − A: negative is a regression."""
        return self.b - self.a

    @property
    def change(self) -> Change:
        """Improved, regressed or the same (within float noise)."""
        if self.delta > TIE:
            return Change.IMPROVED
        return Change.REGRESSED if self.delta < -TIE else Change.SAME


def diff(a: Side, b: Side, metric: str = "ndcg") -> list[QueryDiff]:
    """One row per query judged on both sides, regressions first (biggest drop first)."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric '{metric}'. Supported: {', '.join(METRICS)}.")
    rows = []
    for qid, qa in a.outcomes.items():
        qb = b.outcomes.get(qid)
        if qb is None or a.method not in qa.metrics or b.method not in qb.metrics:
            continue
        rows.append(
            QueryDiff(
                qid,
                qa.text,
                getattr(qa.metrics[a.method], metric),
                getattr(qb.metrics[b.method], metric),
            )
        )
    return sorted(rows, key=lambda r: (r.delta, r.id))


def only(rows: Iterable[QueryDiff], change: Change | str | None) -> list[QueryDiff]:
    """The rows with one kind of change (None: all)."""
    return [r for r in rows if change is None or r.change == Change(change)]


def counts(rows: Iterable[QueryDiff]) -> dict[Change, int]:
    """How many queries improved, stayed the same and regressed."""
    out = {c: 0 for c in Change}
    for r in rows:
        out[r.change] += 1
    return out


@dataclass(frozen=True)
class RankedDoc:
    """One document in one side's top k, judged from the qrels."""

    rank: int
    doc: str
    label: str
    grade: int | None  # None: not judged; 0: judged not relevant
    other_rank: int | None  # its rank in the other side's list (None: not there)

    @property
    def relevant(self) -> bool:
        """Grade 1 or more."""
        return (self.grade or 0) > 0

    @property
    def moved(self) -> int | None:
        """Places gained against the other list (+2: two places higher here); None if new."""
        return None if self.other_rank is None else self.other_rank - self.rank


@dataclass(frozen=True)
class QueryComparison:
    """Both ranked lists of one query side by side, and the relevant documents both missed."""

    id: str
    text: str
    a: tuple[RankedDoc, ...]
    b: tuple[RankedDoc, ...]
    missed: tuple[tuple[str, int], ...]  # (doc, grade) judged relevant, retrieved by neither


def _ranked(
    docs: tuple[str, ...], other: tuple[str, ...], outcome: QueryOutcome
) -> tuple[RankedDoc, ...]:
    where = {d: i for i, d in enumerate(other, start=1)}
    return tuple(
        RankedDoc(i, d, outcome.labels.get(d, ""), outcome.relevant.get(d), where.get(d))
        for i, d in enumerate(docs, start=1)
    )


def compare_query(a: Side, b: Side, query_id: str) -> QueryComparison:
    """The two top-k lists of one query, with grades, rank changes and what both missed."""
    qa, qb = a.outcomes[query_id], b.outcomes[query_id]
    docs_a, docs_b = qa.ranked.get(a.method, ()), qb.ranked.get(b.method, ())
    relevant = {**qb.relevant, **qa.relevant}
    seen = set(docs_a) | set(docs_b)
    missed = tuple(
        sorted(((d, g) for d, g in relevant.items() if g > 0 and d not in seen),
               key=lambda x: (-x[1], x[0]))
    )
    return QueryComparison(
        query_id, qa.text, _ranked(docs_a, docs_b, qa), _ranked(docs_b, docs_a, qb), missed
    )
