"""Per-query diff on a tiny hand-made collection: rows, order, filters, side-by-side lists."""

from __future__ import annotations

import math

import pytest

from lib.evaluation.diff import Change, Side, compare_query, counts, diff, only
from lib.evaluation.metrics import query_metrics
from lib.evaluation.report import EvaluationReport, Metrics, QueryOutcome, RunSettings
from lib.retrieval.fusion import FusionSettings

K = 3
QRELS = {
    "q1": {"d1": 2, "d2": 1, "d9": 1},  # d9 is never retrieved
    "q2": {"d4": 1},
    "q3": {"d5": 1, "d6": 0},
}
TEXT = {"q1": "first", "q2": "second", "q3": "third"}
RUNS = {
    "keyword": {"q1": ("d1", "d3", "d2"), "q2": ("d4", "d5", "d6"), "q3": ("d5", "d6", "d7")},
    "hybrid": {"q1": ("d1", "d2", "d3"), "q2": ("d5", "d4", "d6"), "q3": ("d5", "d7", "d6")},
}


def outcome(qid: str, runs: dict) -> QueryOutcome:
    ranked = {m: r[qid] for m, r in runs.items()}
    metrics = {m: Metrics.from_scores(query_metrics(list(d), QRELS[qid], K), K) for m, d in ranked.items()}
    return QueryOutcome(qid, TEXT[qid], QRELS[qid], ranked, metrics, {"d1": "Doc one"})


def report(runs: dict = RUNS) -> EvaluationReport:
    settings = RunSettings(K, tuple(runs), FusionSettings(), "fake", {}, "max", 10, "", "")
    queries = tuple(outcome(q, runs) for q in QRELS)
    return EvaluationReport("tiny", settings, {m: Metrics(K, 0, 0, 0, 0) for m in runs}, 3, queries)


def test_rows_sorted_regressions_first_with_hand_computed_ndcg():
    r = report()
    rows = diff(Side.of(r, "keyword"), Side.of(r, "hybrid"))
    assert [row.id for row in rows] == ["q2", "q3", "q1"]
    q2 = rows[0]
    assert q2.a == pytest.approx(1.0) and q2.b == pytest.approx(1 / math.log2(3))
    assert q2.change is Change.REGRESSED and q2.change.arrow == "▼"
    # q1, exponential gain: keyword 3 + 1/log2(4) vs hybrid 3 + 1/log2(3), ideal 3 + 1/log2(3) + 1/2
    ideal = 3 + 1 / math.log2(3) + 0.5
    assert rows[2].a == pytest.approx((3 + 0.5) / ideal)
    assert rows[2].b == pytest.approx((3 + 1 / math.log2(3)) / ideal)
    assert rows[2].change is Change.IMPROVED
    assert rows[1].change is Change.SAME and rows[1].delta == 0


def test_filters_and_counts():
    rows = diff(Side.of(report(), "keyword"), Side.of(report(), "hybrid"))
    assert counts(rows) == {Change.REGRESSED: 1, Change.SAME: 1, Change.IMPROVED: 1}
    assert [r.id for r in only(rows, "improved")] == ["q1"]
    assert [r.id for r in only(rows, Change.REGRESSED)] == ["q2"]
    assert len(only(rows, None)) == 3


def test_other_metrics_and_unknown_metric():
    rows = diff(Side.of(report(), "keyword"), Side.of(report(), "hybrid"), "mrr")
    assert {r.id: r.delta for r in rows}["q1"] == pytest.approx(0.0)  # rank 1 relevant in both
    with pytest.raises(ValueError, match="Supported"):
        diff(Side.of(report(), "keyword"), Side.of(report(), "hybrid"), "bleu")


def test_side_by_side_lists_grades_rank_changes_and_missed():
    r = report()
    c = compare_query(Side.of(r, "keyword"), Side.of(r, "hybrid"), "q1")
    assert [(d.doc, d.grade, d.other_rank) for d in c.a] == [
        ("d1", 2, 1),
        ("d3", None, 3),
        ("d2", 1, 2),
    ]
    assert [d.moved for d in c.b] == [0, 1, -1]  # d2 rose from 3rd to 2nd
    assert c.a[0].label == "Doc one" and c.a[0].relevant and not c.a[1].relevant
    assert c.missed == (("d9", 1),)
    judged_irrelevant = compare_query(Side.of(r, "keyword"), Side.of(r, "hybrid"), "q3").a[1]
    assert judged_irrelevant.grade == 0 and not judged_irrelevant.relevant


def test_two_runs_join_on_query_id():
    old = report()
    newer = report({"hybrid": {q: ("d1", "d9", "d2") if q == "q1" else d for q, d in RUNS["hybrid"].items()}})
    rows = diff(Side.of(old, "hybrid", "old"), Side.of(newer, "hybrid", "new"))
    assert [r.id for r in only(rows, "improved")] == ["q1"]
    partial = EvaluationReport("tiny", old.settings, old.methods, 1, old.queries[:1])
    assert [r.id for r in diff(Side.of(partial, "hybrid"), Side.of(old, "hybrid"))] == ["q1"]
