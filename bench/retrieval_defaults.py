"""Does the default hybrid beat or tie the better single method on every collection?

    .venv/bin/python bench/retrieval_defaults.py [--datasets ../shared/datasets] [--names scifact,cranfield,npl]

For each BEIR folder (test split): keyword, vector and the app's default hybrid, with an
alpha sweep, through the CLI's code path (lib.evaluation.api.evaluate_beir); then the
paired test of hybrid against the better single method and the per-collection
recommendation (lib.evaluation.recommend). Graded collections are scored with both gains.
Embeddings are cached in <data dir>/cache/embeddings (the first run embeds every corpus:
tens of minutes on 2 cores). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import load_settings  # noqa: E402
from lib.evaluation.__main__ import format_table  # noqa: E402
from lib.evaluation.api import evaluate_beir  # noqa: E402
from lib.evaluation.cache import cache_root  # noqa: E402
from lib.evaluation.progress import ProgressBar  # noqa: E402
from lib.evaluation.report import EvaluationReport  # noqa: E402
from lib.evaluation.runner import EvalConfig  # noqa: E402
from lib.evaluation.runs import save_run  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.types import ChunkSettings  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def evaluate(folder: Path, gain: str, embedder, settings) -> EvaluationReport:
    """One collection, the app's defaults, with an alpha sweep."""
    started = time.perf_counter()
    report = evaluate_beir(
        folder,
        "test",
        embedder,
        EvalConfig(gain=gain),  # type: ignore[arg-type]
        ChunkSettings(settings.chunk_size, settings.chunk_overlap),
        cache_root(settings.data_dir),
        sweep_parameter="alpha",
        progress=ProgressBar(sys.stderr),
    )
    print(f"\n{folder.name} · gain {gain} · {time.perf_counter() - started:.1f} s")
    print(format_table(report), flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--names", default="scifact,cranfield,npl")
    args = parser.parse_args()
    settings = load_settings()
    embedder = get_embedder(settings)
    from lib.evaluation.recommend import recommend

    out: dict = {"embedder": embedder.name, "k": 10, "collections": {}}
    for name in args.names.split(","):
        folder = args.datasets / name
        if not folder.is_dir():
            print(f"skipping {name}: {folder} not found")
            continue
        grades = {g for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]
                  if len(cols := line.split()) >= 3 for g in [cols[2]]}
        gains = ["exponential", "linear"] if grades - {"0", "1"} else ["exponential"]
        for gain in gains:
            report = evaluate(folder, gain, embedder, settings)
            saved = save_run(replace(report, dataset=f"{name}-{gain}"), settings.data_dir)
            rec = recommend(report)
            print(rec.reason)
            key = name if gain == "exponential" else f"{name} (linear gain)"
            out["collections"][key] = {
                "queries": report.n_queries,
                "ndcg@10": {m: round(v.ndcg, 4) for m, v in report.methods.items()},
                "hybrid_vs_best_single": rec.test.sentence(4),
                "verdict": rec.verdict,
                "recommended": rec.summary,
                "near_best_alpha": [p.value for p in report.sweep.points if p.near_best],
                "run": saved.run_id,
            }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
