"""Retrieval quality on SciFact (BEIR): keyword, vector and hybrid nDCG@10, recall@10, MRR@10, MAP.

    .venv/bin/python bench/scifact.py [--dataset ../shared/datasets/scifact] [--splits train,test]

Runs the same code as `python -m lib.evaluation` (lib.evaluation.api.evaluate_beir): the
app's default fusion settings, then the fusion recommended from the train split, plus an
alpha and an RRF-k sweep on train (tune on train, report on test). Embeddings are cached in
<data dir>/cache/embeddings: the first run embeds ~17k chunks (minutes), later runs none.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import load_settings  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.evaluation.__main__ import format_table  # noqa: E402
from lib.evaluation.api import evaluate_beir  # noqa: E402
from lib.evaluation.cache import cache_root  # noqa: E402
from lib.evaluation.progress import ProgressBar  # noqa: E402
from lib.evaluation.runner import EvalConfig  # noqa: E402
from lib.retrieval.fusion import FusionSettings  # noqa: E402
from lib.types import ChunkSettings  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
# Chosen on the train split (see the sweeps this script prints): z-score fusion, equal weights.
RECOMMENDED = FusionSettings(mode="weighted", alpha=0.5, normalization="zscore", depth=50)


def run(folder: Path, split: str, fusion: FusionSettings, sweep: str | None = None) -> dict:
    """One evaluation through the CLI's code path; prints its table."""
    settings = load_settings()
    started = time.perf_counter()
    report = evaluate_beir(
        folder,
        split,
        get_embedder(settings),
        EvalConfig(fusion=fusion),
        ChunkSettings(settings.chunk_size, settings.chunk_overlap),
        cache_root(settings.data_dir),
        sweep_parameter=sweep,
        progress=ProgressBar(sys.stderr),
    )
    print(f"\n{split} · fusion {fusion} · {time.perf_counter() - started:.1f} s")
    print(format_table(report), flush=True)
    return report.to_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--splits", default="train,test")
    args = parser.parse_args()
    if not (args.dataset / "queries.jsonl").is_file():
        print(f"SciFact not found at {args.dataset}: skipped")
        print(json.dumps({"skipped": "scifact dataset not found"}))
        return
    out: dict = {"dataset": "scifact", "recommended_fusion": str(RECOMMENDED)}
    for split in args.splits.split(","):
        tuning = split == "train"
        defaults = run(args.dataset, split, FusionSettings(), "rrf-k" if tuning else None)
        recommended = run(args.dataset, split, RECOMMENDED, "alpha" if tuning else None)
        out[split] = {
            "queries": defaults["queries"],
            "app_defaults": defaults["methods"],
            "recommended_hybrid": recommended["methods"]["hybrid"],
            "settings": defaults["settings"],
        }
        if tuning:
            out[split]["sweep_rrf_k"] = defaults["sweep"]["points"]
            out[split]["sweep_alpha_zscore"] = recommended["sweep"]["points"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
