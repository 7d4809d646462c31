"""The sweep curve's 95% band and its "as good as the best" marks (synthetic and real runs)."""

from __future__ import annotations

import numpy as np
import pytest

from lib.evaluation.api import run_evaluation, sweep_curve, sweep_grid
from lib.evaluation.report import EvaluationReport, Sweep
from lib.evaluation.runner import EvalConfig
from lib.retrieval.fusion import FusionSettings
from tests.test_evaluation_runner import QRELS, QUERIES, index  # noqa: F401 (fixture)


def _points(values: list[np.ndarray], k: int = 10) -> list[list[dict[str, float]]]:
    names = (f"ndcg@{k}", f"recall@{k}", f"mrr@{k}", f"precision@{k}", "map")
    return [[{n: float(v) for n in names} for v in point] for point in values]


def test_band_and_near_best_marks_on_known_scores():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 60)
    e = rng.normal(0, 0.05, 30)
    noise = np.concatenate([e, -e]) - 0.001  # 0.001 below the best on average: noise, not a loss
    per_query = _points([base, base + 0.2, base + 0.2 + noise])
    grid = [FusionSettings(alpha=a, mode="weighted") for a in (0.0, 0.5, 1.0)]
    curve = sweep_curve("alpha", FusionSettings(), grid, per_query, {}, 10)
    assert curve.best().value == 0.5
    assert [p.near_best for p in curve.points] == [False, True, True]
    for p in curve.points:
        assert p.ci_low < p.metrics.ndcg < p.ci_high or p.ci_low == p.ci_high
    assert curve.points[0].p_vs_best < 0.001 and curve.points[1].p_vs_best == 1.0
    again = Sweep.from_json(curve.to_json(), 10)
    assert [p.near_best for p in again.points] == [False, True, True]
    assert again.points[0].ci_low == pytest.approx(curve.points[0].ci_low, abs=1e-4)


def test_a_real_sweep_saves_its_band(index):  # noqa: F811
    config = EvalConfig(k=3)
    report = run_evaluation(index, QUERIES, QRELS, config, _settings(config), "tiny",
                            sweep_parameter="alpha")
    curve = report.sweep
    assert [p.value for p in curve.points] == [f.alpha for f in sweep_grid("alpha", config.fusion)]
    assert all(p.ci_low <= p.metrics.ndcg + 1e-9 <= p.ci_high + 2e-9 for p in curve.points)
    assert curve.best().near_best
    saved = EvaluationReport.from_json(report.to_json())
    assert saved.sweep.points[3].near_best == curve.points[3].near_best


def _settings(config):
    from lib.evaluation.report import RunSettings

    return RunSettings(config.k, config.methods, config.fusion, "minilm", {}, "max", 50, "", "")



class _Embedder:
    name, dim = "fake", 2

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([float(len(text)), 1.0])


class ExactIndex:
    """40 documents with seeded per-query scores; any document can be scored exactly."""

    def __init__(self, seed: int = 3):
        rng = np.random.default_rng(seed)
        self.docs = [f"d{i}" for i in range(40)]
        self.vec = {q: dict(zip(self.docs, rng.uniform(0, 1, 40))) for q in QUERIES.values()}
        self.kw = {q: dict(zip(self.docs, rng.exponential(2, 40))) for q in QUERIES.values()}
        self.embedder = _Embedder()
        self._by_len = {len(q): q for q in QUERIES.values()}

    def _top(self, scores: dict, k: int) -> list[tuple[str, float]]:
        return sorted(scores.items(), key=lambda x: -x[1])[:k]

    def vector_query(self, embedding, k):
        return self._top(self.vec[self._by_len[int(embedding[0])]], k)

    def keyword_query(self, query, k):
        return self._top(self.kw[query], k)

    def vector_scores(self, embedding, ids):
        return {d: self.vec[self._by_len[int(embedding[0])]][d] for d in ids}

    def keyword_scores(self, query, ids):
        return {d: self.kw[query][d] for d in ids}

    def chunk(self, chunk_id):
        from lib.types import Chunk

        return Chunk(chunk_id, chunk_id, chunk_id, None, None, 0, 1, chunk_id)


def test_weighted_sweep_points_score_the_union_exactly_like_hybrid():
    # shallow lists over random scores: each side misses documents the other found, so a
    # guessed floor score (plain weighted fusion) and the exact score rank differently
    from dataclasses import replace

    from lib.evaluation.runner import evaluate_index, sweep
    from lib.retrieval.search import ExactScores

    fake = ExactIndex()
    assert isinstance(fake, ExactScores)
    qrels = {q: {f"d{i}": 1 for i in range(0, 40, 3)} for q in QUERIES}
    for alpha in (0.3, 0.5, 0.7):
        base = FusionSettings(mode="weighted", alpha=alpha, depth=8)
        config = EvalConfig(methods=("hybrid",), k=5, fusion=base, candidates=8)
        means, _ = evaluate_index(fake, QUERIES, qrels, config)
        points = sweep(fake, QUERIES, qrels, [base, replace(base, alpha=0.0)], config)
        assert points[0] == pytest.approx(means["hybrid"]), alpha
