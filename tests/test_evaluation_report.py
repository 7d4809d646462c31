"""The typed evaluation report: JSON round trip, old (unversioned) files, hybrid's wins and losses."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lib.evaluation.api import load_results, result_path, save_result
from lib.evaluation.report import (
    REPORT_VERSION,
    EvaluationReport,
    Metrics,
    QueryOutcome,
    WinLoss,
)
from lib.retrieval.fusion import FusionMode, Normalization


def figures(ndcg: float, precision: bool = False) -> dict[str, float]:
    out = {"ndcg@3": ndcg, "recall@3": 1.0, "mrr@3": 0.5}
    return {**out, **({"precision@3": 0.25} if precision else {}), "map": 0.4}


def row(qid: str, hybrid: float, keyword: float, vector: float) -> dict:
    scores = {"hybrid": hybrid, "keyword": keyword, "vector": vector}
    return {
        "id": qid,
        "text": f"query {qid}",
        "relevant": {"a.md": 2, "b.md": 0},
        "ranked": {m: ["a.md", "c.md"] for m in scores},
        "metrics": {m: figures(v, precision=True) for m, v in scores.items()},
        "labels": {},
    }


# What the Evaluate page saved before reports had a version (shape of the old to_json).
OLD_FILE = {
    "dataset": "samples",
    "queries": 3,
    "methods": {m: figures(v) for m, v in (("keyword", 0.6), ("vector", 0.7), ("hybrid", 0.8))},
    "settings": {
        "k": 3,
        "methods": ["keyword", "vector", "hybrid"],
        "fusion": {
            "mode": "rrf",
            "rrf_k": 60,
            "alpha": 0.5,
            "normalization": "minmax",
            "depth": 50,
        },
        "embedder": "minilm",
        "chunking": {"size": 200, "overlap": 40, "unit": "MiniLM tokens", "chunks": 61},
        "aggregation": "max: a document's score is its best chunk's score",
        "candidates_per_method": 50,
        "map": "average precision over the documents in the top 50 chunks",
        "gain": "2^rel - 1",
        "judged_queries_only": True,
        "index": "the app's index",
    },
    "sweep": {
        "parameter": "rrf-k",
        "mode": "rrf",
        "normalization": "minmax",
        "depth": 50,
        "metric": "ndcg@3",
        "points": [{"rrf_k": k, **figures(0.7 + k / 1000)} for k in (1, 60)],
        "reference": {"keyword": 0.6, "vector": 0.7},
    },
    "per_query": [row("q1", 0.9, 0.5, 0.6), row("q2", 0.4, 0.7, 0.2), row("q3", 0.3, 0.3, 0.1)],
    "saved_at": "2026-11-20T10:00:00Z",
}


def test_an_old_unversioned_file_still_loads(tmp_path):
    path = result_path(tmp_path, "samples")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(OLD_FILE), encoding="utf-8")
    report = load_results(tmp_path)["samples"]
    assert report.n_queries == 3 and report.k == 3 and report.split == "all"
    assert report.methods["hybrid"] == Metrics(3, 0.8, 1.0, 0.5, 0.4)
    assert report.settings.fusion.mode is FusionMode.RRF
    assert report.settings.fusion.normalization is Normalization.MINMAX
    assert report.settings.index == "the app's index"
    assert report.sweep is not None and [p.value for p in report.sweep.points] == [1, 60]
    assert report.sweep.key == "rrf_k" and report.sweep.metric == "ndcg@3"
    outcome = report.outcome("q2")
    assert outcome.ranked["hybrid"] == ("a.md", "c.md")
    assert outcome.metrics["vector"].precision == 0.25
    assert report.best_method() == "hybrid" and report.saved_at == "2026-11-20T10:00:00Z"


def test_json_round_trip_adds_only_the_version():
    report = EvaluationReport.from_json(OLD_FILE)
    saved = report.to_json(per_query=True)
    assert saved["version"] == REPORT_VERSION
    assert {k: v for k, v in saved.items() if k != "version"} == {
        **OLD_FILE,
        "settings": {**OLD_FILE["settings"], "split": "all"},
    }
    assert EvaluationReport.from_json(saved) == report
    assert "per_query" not in report.to_json()


def test_save_then_load_keeps_the_report(tmp_path):
    report = EvaluationReport.from_json({**OLD_FILE, "saved_at": ""})
    path = save_result(report, tmp_path)
    loaded = load_results(tmp_path)["samples"]
    assert json.loads(path.read_text())["version"] == REPORT_VERSION
    assert loaded.saved_at and loaded.run_id  # every save is also a run (lib.evaluation.runs)
    assert replace(loaded, run_id="").stamped("") == report


def test_unreadable_and_newer_files_are_skipped(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "evaluation-broken.json").write_text("{not json")
    (folder / "evaluation-partial.json").write_text(json.dumps({"dataset": "partial"}))
    newer = {**OLD_FILE, "dataset": "future", "version": REPORT_VERSION + 1}
    (folder / "evaluation-future.json").write_text(json.dumps(newer))
    assert load_results(tmp_path) == {}


def test_query_deltas_sorted_from_biggest_win_and_counted():
    report = EvaluationReport.from_json(OLD_FILE)
    deltas = report.query_deltas()
    assert [d.id for d in deltas] == ["q1", "q3", "q2"]
    assert deltas[0].best_single == "vector" and deltas[0].delta == pytest.approx(0.3)
    assert deltas[1].delta == pytest.approx(0.0) and deltas[2].delta == pytest.approx(-0.3)
    assert report.win_loss() == WinLoss(wins=1, ties=1, losses=1)


def test_no_deltas_without_hybrid_and_both_single_methods():
    methods = {m: v for m, v in OLD_FILE["methods"].items() if m != "keyword"}
    report = EvaluationReport.from_json({**OLD_FILE, "methods": methods})
    assert report.query_deltas() == [] and report.win_loss() == WinLoss(0, 0, 0)


def test_metrics_names_and_rounding():
    m = Metrics.from_scores(figures(0.123456, precision=True), 3)
    assert m.precision == 0.25 and list(m.to_json()) == [
        "ndcg@3",
        "recall@3",
        "mrr@3",
        "precision@3",
        "map",
    ]
    assert m.headline() == Metrics(3, 0.1235, 1.0, 0.5, 0.4)
    outcome = QueryOutcome.from_json(row("q", 0.5, 0.4, 0.3), 3)
    assert QueryOutcome.from_json(outcome.to_json(), 3) == outcome
