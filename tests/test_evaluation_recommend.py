"""Per-collection recommendation: keep hybrid unless a paired test says otherwise."""

from __future__ import annotations

import numpy as np

from lib.evaluation.recommend import recommend
from lib.evaluation.report import (
    EvaluationReport,
    Metrics,
    QueryOutcome,
    RunSettings,
    Sweep,
    SweepPoint,
)
from lib.retrieval.fusion import FusionSettings

K = 10


def make(scores: dict[str, np.ndarray], sweep: Sweep | None = None) -> EvaluationReport:
    n = len(next(iter(scores.values())))
    queries = tuple(
        QueryOutcome(f"q{i}", f"query {i}", {"d": 1}, {},
                     {m: Metrics(K, float(v[i]), 0, 0, 0) for m, v in scores.items()})
        for i in range(n)
    )
    means = {m: Metrics(K, float(np.mean(v)), 0, 0, 0) for m, v in scores.items()}
    settings = RunSettings(K, tuple(scores), FusionSettings(), "fake", {}, "max", 50, "", "")
    return EvaluationReport("coll", settings, means, n, queries, sweep)


rng = np.random.default_rng(5)
BASE = rng.uniform(0.2, 0.8, 80)


def test_hybrid_that_wins_is_kept():
    rec = recommend(make({"keyword": BASE, "vector": BASE - 0.1, "hybrid": BASE + 0.05}))
    assert rec.verdict == "hybrid wins" and rec.method == "hybrid" and not rec.changed
    assert rec.best_single == "keyword" and "keep it" in rec.reason


def test_noise_is_a_tie_and_hybrid_is_kept():
    e = rng.normal(0, 0.05, 40)
    rec = recommend(make({"keyword": BASE, "hybrid": BASE + np.concatenate([e, -e]) - 0.002}))
    assert rec.verdict == "tie" and rec.method == "hybrid" and not rec.changed


def test_a_significant_loss_recommends_the_single_method():
    rec = recommend(make({"keyword": BASE, "vector": BASE - 0.2, "hybrid": BASE - 0.04}))
    assert rec.verdict == "hybrid loses" and rec.method == "keyword" and rec.fusion is None
    assert rec.summary == "keyword"


def test_a_better_sweep_point_is_recommended_when_the_current_one_is_worse():
    points = tuple(
        SweepPoint(a, Metrics(K, 0.5 + (0.1 if a == 0.3 else 0), 0, 0, 0), 0.4, 0.6,
                   1.0 if a == 0.3 else 0.001, a == 0.3)
        for a in (0.0, 0.3, 0.5, 1.0)
    )
    curve = Sweep("alpha", "zscore", 50, K, points, {})
    rec = recommend(make({"keyword": BASE, "hybrid": BASE - 0.04}, curve))
    assert rec.changed and rec.fusion.alpha == 0.3 and "alpha 0.3" in rec.summary
    near = tuple(SweepPoint(p.value, p.metrics, 0.4, 0.6, 0.5, True) for p in points)
    kept = recommend(make({"keyword": BASE, "hybrid": BASE + 0.05},
                          Sweep("alpha", "zscore", 50, K, near, {})))
    assert not kept.changed


def test_nothing_to_recommend_without_hybrid():
    assert recommend(make({"keyword": BASE})) is None
