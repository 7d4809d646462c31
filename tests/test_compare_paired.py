"""Paired tests between 2×2 grid cells on a hand-made batch: McNemar counts, style share, sources."""

from __future__ import annotations

from math import comb

import pytest

from lib.compare.paired import cell_pairs, fact_test, fact_tests, style_test, style_tests
from lib.compare.results import (
    BatchResults,
    BatchSettings,
    CellAverages,
    CellRow,
    GridSummary,
    QuestionResult,
    load_results,
    save_results,
)
from lib.compare.style import StyleAverages

KEYS = ("base_rag_off", "base_rag_on", "ft_rag_off", "ft_rag_on")
# per question: did each cell state the fact? (off, on, ft off, ft on)
FACTS = [
    (False, True, False, True),
    (False, True, False, True),
    (False, True, False, True),
    (False, True, True, True),
    (False, True, False, True),
    (False, True, False, False),
    (True, True, False, True),
    (False, False, False, True),
    (False, True, False, True),
    (False, True, False, True),
]
STYLE = {"base_rag_off": 0.2, "base_rag_on": 0.4, "ft_rag_off": 0.8, "ft_rag_on": 0.9}


def batch() -> BatchResults:
    questions = []
    for i, facts in enumerate(FACTS):
        cells = {
            key: CellRow(key, f"answer {i}", expected_fact=fact,
                         style_score=STYLE[key] + (i % 3) * 0.01,
                         sources=("[1] fees.pdf, page 3",) if key.endswith("on") else ())
            for key, fact in zip(KEYS, facts)
        }
        questions.append(QuestionResult(f"q{i}", f"question {i}", "£12", cells))
    summary = GridSummary(tuple(CellAverages(k, k.replace("_", " "), StyleAverages.from_json({}))
                                for k in KEYS))
    return BatchResults("2026-12-01", "B", "T", BatchSettings("hybrid", 4, 200), summary,
                        tuple(questions))


def test_mcnemar_counts_and_exact_p():
    t = fact_test(batch(), "base_rag_on", "base_rag_off")
    assert (t.both, t.only_a, t.only_b, t.neither) == (1, 8, 0, 1)
    assert t.p == pytest.approx(2 * comb(8, 0) / 2**8) and t.significant
    assert t.sentence().startswith("base rag on states the fact on 9/10, base rag off on 1/10")
    same = fact_test(batch(), "base_rag_on", "ft_rag_on")
    assert (same.only_a, same.only_b) == (1, 1) and same.p == 1.0 and not same.significant


def test_every_pair_of_cells_is_tested():
    assert len(cell_pairs(batch())) == 6
    assert len(fact_tests(batch())) == 6
    tests = style_tests(batch())
    assert len(tests) == 6
    ft_vs_base = next(t for t in tests if (t.a, t.b) == ("base_rag_off", "ft_rag_off"))
    assert ft_vs_base.test.diff == pytest.approx(-0.6)  # a constant gap: interval excludes 0
    assert ft_vs_base.test.ci_high < 0 and ft_vs_base.test.significant


def test_unchecked_facts_and_missing_scores_are_left_out():
    b = batch()
    rows = [QuestionResult(q.id, q.text, q.expected,
                           {**q.cells, "ft_rag_on": CellRow("x", error="HTTP 500")})
            for q in b.questions]
    failed = BatchResults(b.created_at, b.base, b.fine_tuned, b.settings, b.summary, tuple(rows))
    assert fact_test(failed, "base_rag_on", "ft_rag_on").n == 0
    assert style_test(failed, "base_rag_on", "ft_rag_on") is None


def test_sources_round_trip_and_old_rows_read(tmp_path):
    save_results(tmp_path, batch())
    loaded = load_results(tmp_path)
    assert loaded.questions[0].cells["base_rag_on"].sources == ("[1] fees.pdf, page 3",)
    assert CellRow.from_json({"cell": "x"}).sources == ()
