"""Evidence records and saved result files with known numbers, for the decision tests."""

from __future__ import annotations

from pathlib import Path

from lib.compare.results import BatchResults, save_results
from lib.decision.records import (
    CellScore,
    DatasetEvidence,
    Evidence,
    GridEvidence,
    MethodScore,
    PromptTokens,
    RetrievalEvidence,
    TrainingEvidence,
)
from lib.evaluation.api import save_result
from lib.evaluation.report import EvaluationReport

RETRIEVAL = RetrievalEvidence(
    "samples",
    "2026-11-30T10:00:00Z",
    10,
    45,
    "minilm-int8",
    (
        MethodScore("keyword", 0.6123, 0.7011, 0.5902),
        MethodScore("vector", 0.5871, 0.6644, 0.5533),
        MethodScore("hybrid", 0.7346, 0.8123, 0.7011),
    ),
    hybrid_wins=21,
    hybrid_ties=15,
    hybrid_losses=9,
    id_queries=12,
    keyword_wins_ids=9,
    vector_wins_ids=2,
)
GRID = GridEvidence(
    "2026-11-30T11:00:00Z",
    "Local base",
    "Local fine-tuned",
    10,
    (
        CellScore("base_rag_off", "Local base · RAG off", 0.1, None, 0.31, 10),
        CellScore("base_rag_on", "Local base · RAG on", 0.6, 0.7, 0.42, 10),
        CellScore("ft_rag_off", "Local fine-tuned · RAG off", 0.1, None, 0.83, 10),
        CellScore("ft_rag_on", "Local fine-tuned · RAG on", 0.5, 0.6, 0.87, 10),
    ),
)
DATASET = DatasetEvidence(
    "orbit-train.jsonl", 132, 267.0, 3, 105_744, "gpt-4o-mini-2024-07-18", 3.0, 0.3172, "2025-06"
)
TRAINING = TrainingEvidence("Orbit style (LoRA)", 804.9, 60, 132, "2026-11-24T12:46:27Z", True)
PROMPTS = PromptTokens(62, 14, 168, 1808, 512)
FULL = Evidence(8123, RETRIEVAL, GRID, DATASET, TRAINING, PROMPTS)


def save_evaluation(data_dir: Path, dataset: str = "samples") -> EvaluationReport:
    """A saved run with three methods and two per-query rows (one exact ID: keyword wins)."""

    def scores(n: float) -> dict[str, float]:
        return {"ndcg@10": n, "recall@10": n, "mrr@10": n, "map": n}

    raw = {
        "version": 1,
        "dataset": dataset,
        "queries": 2,
        "methods": {"keyword": scores(0.61), "vector": scores(0.58), "hybrid": scores(0.73)},
        "settings": {
            "k": 10,
            "methods": ["keyword", "vector", "hybrid"],
            "fusion": {
                "mode": "rrf",
                "rrf_k": 60,
                "alpha": 0.5,
                "normalization": "zscore",
                "depth": 50,
            },
            "embedder": "minilm-int8",
            "chunking": {},
            "aggregation": "max",
            "candidates_per_method": 50,
            "map": "",
            "gain": "",
        },
        "per_query": [
            {
                "id": "q01",
                "text": "ERR-4031",
                "relevant": {"a": 1},
                "metrics": {"keyword": scores(1.0), "vector": scores(0.2), "hybrid": scores(0.9)},
            },
            {
                "id": "q30",
                "text": "how do I freeze my card",
                "relevant": {"b": 1},
                "metrics": {"keyword": scores(0.3), "vector": scores(0.8), "hybrid": scores(0.85)},
            },
        ],
    }
    report = EvaluationReport.from_json(raw)
    save_result(report, data_dir)
    return report


def save_batch(data_dir: Path, facts_on: float = 0.6, facts_off: float = 0.1) -> None:
    """A saved 2x2 batch with these expected-fact rates."""

    def cell(label: str, fact: float, style: float) -> dict:
        return {
            "n": 10,
            "style_score": style,
            "grounded": 0.7,
            "label": label,
            "expected_fact": fact,
            "errors": 0,
        }

    save_results(
        data_dir,
        BatchResults.from_json(
            {
                "version": 1,
                "created_at": "2026-11-30T11:00:00Z",
                "base": "Local base",
                "fine_tuned": "Local fine-tuned",
                "settings": {"method": "hybrid", "k": 4, "max_tokens": 256},
                "cells": {
                    "base_rag_off": cell("Local base · RAG off", facts_off, 0.3),
                    "base_rag_on": cell("Local base · RAG on", facts_on, 0.4),
                    "ft_rag_off": cell("Local fine-tuned · RAG off", facts_off, 0.8),
                    "ft_rag_on": cell("Local fine-tuned · RAG on", facts_on, 0.9),
                },
                "questions": [],
            }
        ),
    )
