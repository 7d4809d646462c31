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
from lib.evaluation.metrics import mean_metrics
from lib.evaluation.report import (
    EvaluationReport,
    Metrics,
    RunSettings,
    Sweep,
    SweepPoint,
    reference_lines,
    sweep_key,
)
from lib.evaluation.runner import (
    AGGREGATION,
    EvalConfig,
    app_doc_key,
    evaluate_index,
    sweep_per_query,
)
from lib.evaluation.runs import fingerprint, save_run
from lib.evaluation.significance import mean_ci, paired_test
from lib.io import atomic_write_json
from lib.retrieval.fusion import FusionMode, FusionSettings
from lib.retrieval.search import SearchIndex
from lib.types import ChunkSettings, Progress, RagLabError

# Sweep name -> what it varies (the label of the page's picker and the chart's axis).
SWEEPS = {"alpha": "α (vector weight)", "rrf-k": "RRF k"}
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


def sweep_curve(
    parameter: str,
    base: FusionSettings,
    grid: Sequence[FusionSettings],
    per_query: Sequence[Sequence[dict[str, float]]],
    methods: dict[str, Metrics],
    k: int,
) -> Sweep:
    """The curve: each point's metrics, its 95% band, and whether it is as good as the best."""
    key, name = sweep_key(parameter), f"ndcg@{k}"
    scores = [[q[name] for q in point] for point in per_query]
    means = [mean_metrics(point) for point in per_query]
    if not grid or not scores[0]:  # no judged query: no curve to draw
        return Sweep(parameter, str(base.normalization), base.depth, k, (),
                     reference_lines(methods))
    best = max(range(len(grid)), key=lambda i: means[i][name])
    points = []
    for f, point, mean in zip(grid, scores, means):
        low, high = mean_ci(point)
        test = paired_test("point", point, "best", scores[best])
        # "as good as the best" = the paired test cannot tell them apart (p >= 0.05)
        near = not (test.significant and test.diff < 0)
        points.append(
            SweepPoint(getattr(f, key), Metrics.from_scores(mean, k), low, high, test.p, near)
        )
    return Sweep(parameter, str(base.normalization), base.depth, k, tuple(points),
                 reference_lines(methods))


def run_evaluation(
    index: SearchIndex,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    config: EvalConfig,
    settings: RunSettings,
    dataset: str,
    doc_key=None,
    sweep_parameter: str | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
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
    means = {m: Metrics.from_scores(v, config.k) for m, v in methods.items()}
    curve = None
    if sweep_parameter:
        grid = sweep_grid(sweep_parameter, config.fusion)
        points = sweep_per_query(
            index,
            queries,
            qrels,
            grid,
            config,
            progress=lambda f, label: report(0.5 + f / 2, label),
            **kwargs,
        )
        curve = sweep_curve(sweep_parameter, config.fusion, grid, points, means, config.k)
    return EvaluationReport(dataset, settings, means, len(outcomes), tuple(outcomes), curve)


def _settings(
    config: EvalConfig, embedder_name: str, chunking: dict, documents: bool
) -> RunSettings:
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
    return RunSettings(
        k=config.k,
        methods=tuple(config.methods),
        fusion=config.fusion,
        embedder=embedder_name,
        chunking=chunking,
        aggregation=aggregation,
        candidates_per_method=n,
        map=candidates,
        gain="2^rel - 1" if config.gain == "exponential" else "rel (linear)",
    )


def evaluate_beir(
    folder: Path,
    split: str,
    embedder,
    config: EvalConfig | None = None,
    chunking: ChunkSettings | None = DEFAULT_CHUNKING,
    cache_root: Path | None = None,
    sweep_parameter: str | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
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
    settings = replace(
        _settings(config, embedder.name, chunk_info, documents=True),
        split=split,
        index_seconds=round(time.perf_counter() - started, 1),
    )
    result = run_evaluation(
        index,
        judged,
        data.qrels,
        config,
        settings,
        data.name,
        sweep_parameter=sweep_parameter,
        progress=lambda f, label: report(0.6 + 0.4 * f, label),
    )
    return replace(result, fingerprint=fingerprint(judged, data.qrels, data.corpus))


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
) -> EvaluationReport:
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
    settings = replace(
        _settings(config, store.embedder_name or store.embedder.name, chunking, documents=False),
        index="the app's index",
    )
    result = run_evaluation(
        store,
        queries,
        qrels,
        config,
        settings,
        dataset,
        doc_key=app_doc_key,
        sweep_parameter=sweep_parameter,
        progress=progress,
    )
    listed = store.documents() if hasattr(store, "documents") else []
    docs = [f"{d.name}\x00{getattr(d, 'sha256', '')}" for d in listed]
    return replace(result, fingerprint=fingerprint(queries, qrels, docs))


def result_path(data_dir: Path, dataset: str) -> Path:
    """Where the Evaluate page keeps one dataset's latest result (the decision guide reads it)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip(".-") or "dataset"
    return Path(data_dir) / "results" / f"evaluation-{safe}.json"


def save_result(report: EvaluationReport, data_dir: Path) -> Path:
    """Save the report as a new run and as its dataset's latest result; returns the latter."""
    path = result_path(data_dir, report.dataset)
    stamped = save_run(report.stamped(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), data_dir)
    atomic_write_json(path, stamped.to_json(per_query=True), indent=1)
    return path


def load_results(data_dir: Path) -> dict[str, EvaluationReport]:
    """Saved reports by dataset name (unreadable or foreign files are skipped)."""
    found = {}
    for path in sorted((Path(data_dir) / "results").glob("evaluation-*.json")):
        try:
            report = EvaluationReport.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RagLabError):
            continue
        found[report.dataset] = report
    return found


def unindexed_documents(qrels: dict[str, dict[str, int]], indexed: set[str]) -> list[str]:
    """Judged documents the index lacks (their queries will score low), sorted."""
    return sorted({doc for judged in qrels.values() for doc in judged} - indexed)
