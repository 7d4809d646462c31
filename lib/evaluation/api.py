"""Whole evaluations: a BEIR folder or the app's own index with the sample queries."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.beir import DatasetError, load_beir, load_qrels, load_queries
from lib.evaluation.corpus import TITLE_WEIGHT, build_index
from lib.evaluation.runner import (
    AGGREGATION,
    EvalConfig,
    EvaluationResult,
    QueryOutcome,
    app_doc_key,
    evaluate_index,
    fusion_settings_dict,
    sweep,
)
from lib.io import atomic_write_json
from lib.retrieval.fusion import FusionMode, FusionSettings
from lib.retrieval.search import SearchIndex
from lib.types import ChunkSettings, Progress

SWEEPS = ("alpha", "rrf-k")
ALPHA_GRID = tuple(round(a / 10, 1) for a in range(11))
RRF_K_GRID = (1, 5, 10, 20, 30, 45, 60, 80, 100, 150, 200)
SAMPLE_EVAL_DIR = SAMPLE_DOCS_DIR / "eval"
DEFAULT_CHUNKING = ChunkSettings()


def sweep_grid(parameter: str, base: FusionSettings) -> list[FusionSettings]:
    """The fusion settings of a sweep: alpha in weighted mode, or RRF's k."""
    if parameter == "alpha":
        return [replace(base, mode=FusionMode.WEIGHTED, alpha=a) for a in ALPHA_GRID]
    if parameter == "rrf-k":
        return [replace(base, mode=FusionMode.RRF, rrf_k=k) for k in RRF_K_GRID]
    raise DatasetError(f"Unknown sweep '{parameter}'. Supported: {', '.join(SWEEPS)}.")


def _sweep_report(
    parameter: str,
    base: FusionSettings,
    grid: Sequence[FusionSettings],
    points: Sequence[dict[str, float]],
    result: EvaluationResult,
    k: int,
) -> dict:
    """The sweep curve for the JSON: each point's metrics, and single methods as references."""
    key = "alpha" if parameter == "alpha" else "rrf_k"
    summary = result.summary(k)
    return {
        "parameter": parameter,
        "mode": "weighted" if parameter == "alpha" else "rrf",
        "normalization": str(base.normalization),
        "depth": base.depth,
        "metric": f"ndcg@{k}",
        "points": [
            {key: getattr(f, key), **{n: round(v, 4) for n, v in p.items() if "precision" not in n}}
            for f, p in zip(grid, points)
        ],
        "reference": {m: summary[m][f"ndcg@{k}"] for m in ("keyword", "vector") if m in summary},
    }


def run_evaluation(
    index: SearchIndex,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    config: EvalConfig,
    settings: dict,
    dataset: tuple[str, str],
    doc_key=None,
    sweep_parameter: str | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate `config.methods` (and an optional sweep) on an index; see evaluate_index."""
    kwargs = {"doc_key": doc_key} if doc_key is not None else {}
    report = progress or (lambda f, label: None)
    methods, outcomes = evaluate_index(
        index,
        queries,
        qrels,
        config,
        progress=lambda f, label: report(f * (0.5 if sweep_parameter else 1), label),
        **kwargs,
    )
    result = EvaluationResult(dataset[0], dataset[1], methods, settings, outcomes)
    if sweep_parameter:
        grid = sweep_grid(sweep_parameter, config.fusion)
        points = sweep(
            index,
            queries,
            qrels,
            grid,
            config,
            progress=lambda f, label: report(0.5 + f / 2, label),
            **kwargs,
        )
        result.sweep = _sweep_report(sweep_parameter, config.fusion, grid, points, result, config.k)
    return result


def _settings(config: EvalConfig, embedder_name: str, chunking: dict, documents: bool) -> dict:
    n = config.n_candidates
    if documents:  # BEIR: the index ranks documents (DocumentIndex)
        aggregation = (
            f"{AGGREGATION}: a document's vector score is its best chunk's score; "
            "each method ranks documents, hybrid fuses the two document lists"
        )
        candidates = f"average precision over the top {n} documents"
    else:  # the app's index ranks chunks
        aggregation = (
            f"{AGGREGATION}: a document's score is its best chunk's score, "
            "taken after the app's chunk-level search and fusion"
        )
        candidates = f"average precision over the documents in the top {n} chunks"
    return {
        "k": config.k,
        "methods": list(config.methods),
        "fusion": fusion_settings_dict(config.fusion),
        "embedder": embedder_name,
        "chunking": chunking,
        "aggregation": aggregation,
        "candidates_per_method": n,
        "map": candidates,
        "gain": "2^rel - 1" if config.gain == "exponential" else "rel (linear)",
        "judged_queries_only": True,
    }


def evaluate_beir(
    folder: Path,
    split: str,
    embedder,
    config: EvalConfig | None = None,
    chunking: ChunkSettings | None = DEFAULT_CHUNKING,
    cache_root: Path | None = None,
    sweep_parameter: str | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Load a BEIR folder, index its corpus in memory, and evaluate.

    Args:
        folder, split: the BEIR folder and the qrels split.
        embedder: the Embedder for the vector side (e.g. get_embedder(settings)).
        config: methods, k, fusion settings.
        chunking: chunk settings, or None to index whole documents.
        cache_root: the embedding cache folder (<data dir>/cache/embeddings), or None.
        sweep_parameter: "alpha" or "rrf-k" to add a sweep curve.
        progress: called with (fraction, label); embedding is the first 60%.
    """
    config = config or EvalConfig()
    report = progress or (lambda f, label: None)
    data = load_beir(Path(folder), split)
    report(
        0.0, f"loaded {len(data.corpus)} documents, {len(data.judged_query_ids())} judged queries"
    )
    started = time.perf_counter()
    index = build_index(
        data.corpus.values(),
        embedder,
        chunking,
        cache_root,
        lambda i, n: report(0.6 * i / max(n, 1), f"embedding {i}/{n}"),
    )
    cached = index.embedder  # CachedEmbedder when caching: prime the queries in one shard
    judged = {q: data.queries[q] for q in data.judged_query_ids()}
    if hasattr(cached, "embed_queries"):
        cached.embed_queries([t for t in judged.values() if t])
    chunk_info: dict = {
        "vector": "best chunk per document (title prepended to every chunk)",
        "keyword": f"BM25 over whole documents, title counted {TITLE_WEIGHT} times",
        "size": chunking.size if chunking else None,
        "overlap": chunking.overlap if chunking else None,
        "unit": "MiniLM tokens",
    }
    if chunking is None:
        chunk_info["vector"] = "whole documents (the embedder reads the first 256 tokens)"
    chunk_info["chunks"] = index.n_chunks
    settings = _settings(config, embedder.name, chunk_info, documents=True)
    settings.update(split=split, index_seconds=round(time.perf_counter() - started, 1))
    return run_evaluation(
        index,
        judged,
        data.qrels,
        config,
        settings,
        (data.name, split),
        sweep_parameter=sweep_parameter,
        progress=lambda f, label: report(0.6 + 0.4 * f, label),
    )


def sample_queries(
    folder: Path = SAMPLE_EVAL_DIR,
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The bundled labelled queries (ids -> text) and qrels (document file names)."""
    if not (folder / "queries.jsonl").is_file() or not (folder / "qrels.tsv").is_file():
        raise DatasetError("the sample queries are missing (sample_docs/eval)")
    return load_queries(folder / "queries.jsonl"), load_qrels(folder / "qrels.tsv")


def evaluate_store(
    store,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    config: EvalConfig | None = None,
    dataset: str = "samples",
    sweep_parameter: str | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate the app's own index (documents are named by file name in the qrels)."""
    config = config or EvalConfig()
    if store.n_chunks == 0:
        raise DatasetError("the index is empty: ingest documents first")
    chunk = store.chunk_settings
    chunking = (
        {
            "size": chunk.size,
            "overlap": chunk.overlap,
            "unit": "MiniLM tokens",
            "chunks": store.n_chunks,
        }
        if chunk
        else {}
    )
    settings = _settings(
        config, store.embedder_name or store.embedder.name, chunking, documents=False
    )
    settings["index"] = "the app's index"
    return run_evaluation(
        store,
        queries,
        qrels,
        config,
        settings,
        (dataset, "all"),
        doc_key=app_doc_key,
        sweep_parameter=sweep_parameter,
        progress=progress,
    )


def result_path(data_dir: Path, dataset: str) -> Path:
    """Where the Evaluate page keeps one dataset's latest result (the decision guide reads it)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip(".-") or "dataset"
    return Path(data_dir) / "results" / f"evaluation-{safe}.json"


def save_result(result: EvaluationResult, data_dir: Path) -> Path:
    """Write the result (with per-query detail) atomically; returns the file."""
    path = result_path(data_dir, result.dataset)
    payload = result.to_json(per_query=True)
    payload["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    atomic_write_json(path, payload, indent=1)
    return path


def load_results(data_dir: Path) -> dict[str, dict]:
    """Saved results by dataset name (unreadable files are skipped)."""
    found = {}
    for path in sorted((Path(data_dir) / "results").glob("evaluation-*.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found[str(payload.get("dataset", path.stem))] = payload
    return found


def outcome_from_json(row: dict) -> QueryOutcome:
    """A saved per-query row back into a QueryOutcome."""
    return QueryOutcome(
        row["id"],
        row["text"],
        row["relevant"],
        row.get("ranked", {}),
        row.get("metrics", {}),
        row.get("labels", {}),
    )
