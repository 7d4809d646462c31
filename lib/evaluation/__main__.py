"""Command line: evaluate retrieval methods on a BEIR folder.

    python -m lib.evaluation DIR --split test --methods keyword,vector,hybrid --k 10 --json OUT.json

Prints a table on stdout and a progress bar on stderr; --json writes the report
{"version", "dataset", "queries", "methods": {m: {"ndcg@k", "recall@k", "mrr@k", "map"}},
"settings" [, "sweep"] [, "per_query"]}. Hybrid uses the app's default FusionSettings unless
--fusion, --rrf-k, --alpha, --norm or --depth say otherwise.

Every run is saved under <data dir>/results/runs (its id is printed). A regression gate:
    python -m lib.evaluation DIR --compare RUN_ID [--gate-method hybrid] [--gate-metric ndcg]
        [--max-drop 0.01]
prints the per-query diff against that run and exits 1 when the metric's mean drops by more
than --max-drop (2 stays "bad input").
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import lib  # noqa: F401  (offline/telemetry env before onnxruntime loads)
from lib.config import load_settings
from lib.evaluation.api import SWEEPS, evaluate_beir
from lib.evaluation.cache import cache_root
from lib.evaluation.diff import METRICS
from lib.evaluation.metrics import GAINS
from lib.evaluation.progress import ProgressBar
from lib.evaluation.report import EvaluationReport, metric_names
from lib.evaluation.runner import EvalConfig
from lib.evaluation.runs import compare_runs, load_run, save_run
from lib.io import atomic_write_json
from lib.retrieval.fusion import FusionSettings
from lib.retrieval.search import Method
from lib.types import ChunkSettings, RagLabError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options (fusion flags default to the app's settings)."""
    d = FusionSettings()
    p = argparse.ArgumentParser(
        prog="python -m lib.evaluation", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "folder", type=Path, help="a BEIR folder: corpus.jsonl[.gz], queries.jsonl, qrels/"
    )
    p.add_argument("--split", default="test", help="qrels split (default: test)")
    p.add_argument(
        "--methods", default="keyword,vector,hybrid", help="comma-separated: keyword,vector,hybrid"
    )
    p.add_argument("--k", type=int, default=10, help="cut-off for nDCG/recall/MRR (default: 10)")
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument(
        "--gain",
        choices=GAINS,
        default="exponential",
        help="nDCG gain for graded judgments: 2^grade-1 (default) or the grade (trec_eval)",
    )
    p.add_argument(
        "--per-query", action="store_true", help="include per-query rankings in the JSON"
    )
    g = p.add_argument_group("hybrid fusion (defaults: the app's)")
    g.add_argument("--fusion", default=str(d.mode), help=f"rrf | weighted (default: {d.mode})")
    g.add_argument("--rrf-k", type=int, default=d.rrf_k, help=f"RRF k (default: {d.rrf_k})")
    g.add_argument(
        "--alpha",
        type=float,
        default=d.alpha,
        help=f"vector weight, weighted mode (default: {d.alpha})",
    )
    g.add_argument(
        "--norm", default=str(d.normalization), help=f"minmax | zscore (default: {d.normalization})"
    )
    g.add_argument(
        "--depth", type=int, default=d.depth, help=f"candidates per retriever (default: {d.depth})"
    )
    g.add_argument(
        "--sweep", choices=SWEEPS, help="also sweep alpha (weighted) or RRF k; curve in the JSON"
    )
    r = p.add_argument_group("saved runs and the regression gate")
    r.add_argument("--compare", metavar="RUN_ID", help="diff against a saved run (id or .json)")
    r.add_argument("--gate-method", default="hybrid", help="method the gate checks")
    r.add_argument("--gate-metric", default="ndcg", choices=METRICS, help="figure it checks")
    r.add_argument(
        "--max-drop", type=float, default=0.0, help="allowed drop of the mean (default: 0)"
    )
    r.add_argument("--no-save", action="store_true", help="do not save this run")
    c = p.add_argument_group("corpus indexing")
    c.add_argument("--chunk-size", type=int, help="tokens per chunk (default: the app's setting)")
    c.add_argument("--chunk-overlap", type=int, help="overlap tokens (default: the app's setting)")
    c.add_argument(
        "--whole-documents", action="store_true", help="one chunk per document, no splitting"
    )
    c.add_argument("--embedder", help="embedder spec (default: the app's, e.g. minilm)")
    c.add_argument(
        "--data-dir", type=Path, help="data dir for the embedding cache (default: the app's)"
    )
    c.add_argument(
        "--no-cache", action="store_true", help="embed without reading or writing the cache"
    )
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> EvalConfig:
    """EvalConfig from the flags; a bad method or mode raises RagLabError."""
    methods = tuple(str(Method.from_str(m)) for m in args.methods.split(",") if m.strip())
    if not methods:
        raise RagLabError("--methods needs at least one of keyword, vector, hybrid")
    if args.k < 1:
        raise RagLabError("--k must be at least 1")
    fusion = FusionSettings(
        mode=args.fusion,
        rrf_k=args.rrf_k,
        alpha=args.alpha,
        normalization=args.norm,
        depth=args.depth,
    )
    return EvalConfig(methods=methods, k=args.k, fusion=fusion, gain=args.gain)


def format_table(report: EvaluationReport) -> str:
    """A plain-text table of the four figures per method."""
    names = metric_names(report.k)
    lines = [
        f"{report.dataset} ({report.split}): {report.n_queries} judged queries",
        f"{'method':<10}" + "".join(f"{n:>11}" for n in names),
    ]
    table = report.metric_table()
    lines += [f"{m:<10}" + "".join(f"{v[n]:>11.4f}" for n in names) for m, v in table.items()]
    if curve := report.sweep:
        lines.append(
            f"sweep {curve.parameter} ({curve.mode}): "
            + ", ".join(f"{p.value}={p.metrics.headline().ndcg:.4f}" for p in curve.points)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; 0 on success, 2 with a one-line reason on bad input."""
    args = parse_args(argv)
    settings = load_settings()
    try:
        config = build_config(args)
        if args.whole_documents:
            chunking = None
        else:
            size = args.chunk_size or settings.chunk_size
            overlap = settings.chunk_overlap if args.chunk_overlap is None else args.chunk_overlap
            chunking = ChunkSettings(size, min(overlap, size // 2 - 1))
        if args.embedder:
            settings = replace(settings, embedder=args.embedder)
        data_dir = args.data_dir or settings.data_dir
        base = load_run(data_dir, args.compare) if args.compare else None  # fail before embedding
        from lib.retrieval.embeddings import get_embedder

        embedder = get_embedder(settings)
        bar = ProgressBar(sys.stderr)
        started = time.perf_counter()
        report = evaluate_beir(
            args.folder,
            args.split,
            embedder,
            config,
            chunking,
            None if args.no_cache else cache_root(data_dir),
            sweep_parameter=args.sweep,
            progress=bar,
        )
        bar.done(f"done in {time.perf_counter() - started:.1f} s")
        if not args.no_save:
            report = save_run(report, data_dir)
        gate = compare_runs(base, report, args.gate_method, args.gate_metric) if base else None
    except (RagLabError, ValueError) as exc:
        print(f"error: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.json:
        atomic_write_json(args.json, report.to_json(args.per_query), indent=1)
        print(f"wrote {args.json}")
    if report.run_id:
        print(f"saved run {report.run_id}")
    if gate is None:
        return 0
    print(gate.summary())
    if gate.fails(args.max_drop):
        print(
            f"FAIL: {args.gate_method} {args.gate_metric} dropped by {gate.drop:.4f} "
            f"(allowed {args.max_drop})"
        )
        return 1
    print(f"OK: {args.gate_method} {args.gate_metric} within {args.max_drop} of the base run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
