"""Paired tests between the 2×2 grid's cells on one batch (pure; the decision guide reads them).

Every cell answered the same questions, so cells compare question by question:
McNemar's exact test on "states the expected fact" (yes/no per question), and a paired
randomization test with a bootstrap interval on the style-rule share (style_score).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from lib.compare.results import BatchResults, CellRow
from lib.evaluation.significance import ALPHA, PairedTest, format_p, mcnemar_p, paired_test


@dataclass(frozen=True)
class FactTest:
    """McNemar on "states the fact" between two cells, over the questions both were checked on."""

    a: str  # cell key
    b: str
    a_label: str
    b_label: str
    both: int
    only_a: int  # a states the fact, b does not
    only_b: int
    neither: int
    p: float

    @property
    def n(self) -> int:
        """Questions checked in both cells."""
        return self.both + self.only_a + self.only_b + self.neither

    @property
    def significant(self) -> bool:
        """p < ALPHA."""
        return self.p < ALPHA

    def sentence(self) -> str:
        """`RAG on states the fact on 8/10, RAG off on 3/10 (5 vs 0 only one of them), p = 0.062`."""
        return (
            f"{self.a_label} states the fact on {self.both + self.only_a}/{self.n}, "
            f"{self.b_label} on {self.both + self.only_b}/{self.n} "
            f"({self.only_a} vs {self.only_b} only one of them), McNemar {format_p(self.p)}"
        )


@dataclass(frozen=True)
class StyleTest:
    """The paired test on style-rule share between two cells (labels kept for display)."""

    a: str
    b: str
    test: PairedTest


def _label(results: BatchResults, key: str) -> str:
    try:
        return results.summary.cell(key).label
    except StopIteration:
        return key


def cell_keys(results: BatchResults) -> list[str]:
    """The cells present in the batch, in grid order."""
    keys = results.summary.keys or sorted({k for q in results.questions for k in q.cells})
    return [k for k in keys if any(k in q.cells for q in results.questions)]


def _pair_rows(results: BatchResults, a: str, b: str) -> list[tuple[CellRow, CellRow]]:
    return [(q.cells[a], q.cells[b]) for q in results.questions if a in q.cells and b in q.cells]


def fact_test(results: BatchResults, a: str, b: str) -> FactTest:
    """McNemar's exact test on "states the fact" between cells a and b."""
    pairs = [(x.expected_fact, y.expected_fact) for x, y in _pair_rows(results, a, b)
             if x.expected_fact is not None and y.expected_fact is not None]
    both = sum(x and y for x, y in pairs)
    only_a = sum(x and not y for x, y in pairs)
    only_b = sum(y and not x for x, y in pairs)
    neither = len(pairs) - both - only_a - only_b
    return FactTest(a, b, _label(results, a), _label(results, b), both, only_a, only_b,
                    neither, mcnemar_p(only_a, only_b))


def style_test(results: BatchResults, a: str, b: str) -> StyleTest | None:
    """Paired test on style_score between cells a and b (None with fewer than 2 scored pairs)."""
    pairs = [(x.style_score, y.style_score) for x, y in _pair_rows(results, a, b)
             if x.style_score is not None and y.style_score is not None]
    if len(pairs) < 2:
        return None
    test = paired_test(_label(results, a), [x for x, _ in pairs], _label(results, b),
                       [y for _, y in pairs], "style share")
    return StyleTest(a, b, test)


def cell_pairs(results: BatchResults) -> list[tuple[str, str]]:
    """Every pair of cells in grid order (six for a full grid)."""
    return list(itertools.combinations(cell_keys(results), 2))


def fact_tests(results: BatchResults) -> list[FactTest]:
    """McNemar for every pair of cells that both checked at least one fact."""
    return [t for t in (fact_test(results, a, b) for a, b in cell_pairs(results)) if t.n]


def style_tests(results: BatchResults) -> list[StyleTest]:
    """The style-share test for every pair of cells with scores."""
    return [t for t in (style_test(results, a, b) for a, b in cell_pairs(results)) if t]
