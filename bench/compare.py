"""The Compare page's batch mode from the command line: per-cell averages of the 2×2 grid.

    .venv/bin/python bench/compare.py [--n N] [--set grounded|presets] [--adapter X.gguf]

Ingests the sample documents into a temporary data dir, starts the real local server with
the shipped adapter and runs `lib.compare.batch` (the code behind the page's "Run batch")
with Local base vs Local fine-tuned: every question answered by the four cells, each
scored by code. Prints a table of the averages, the load average (2 shared cores: latency
is noisy) and, last, one JSON object (the compare.json summary).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import load_settings  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib import jobs  # noqa: E402
from lib.compare.batch import BatchRun  # noqa: E402
from lib.compare.grid import PRESETS, GridContext, cells, grounded_questions  # noqa: E402
from lib.generation.chat_model import ChatModel  # noqa: E402
from lib.generation.local_server import LocalServer  # noqa: E402
from lib.generation.models import (  # noqa: E402
    LOCAL_BASE,
    LOCAL_FINE_TUNED,
    LOCAL_MODEL_ID,
    ModelSpec,
    adapter_paths,
    find_model,
    list_models,
)
from lib.samples import sample_files  # noqa: E402
from lib.index.store import Store  # noqa: E402

COLUMNS = ("grounded", "expected_fact", "style_score", "words", "seconds")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("grounded", "presets"), default="grounded")
    ap.add_argument("--n", type=int, default=0, help="only the first N questions")
    ap.add_argument("--adapter", type=Path, help="a candidate GGUF adapter instead of the "
                    "shipped one (to measure it before shipping)")
    args = ap.parse_args()
    questions = (
        grounded_questions()
        if args.set == "grounded"
        else [(f"preset-{i}", p.question, p.fact) for i, p in enumerate(PRESETS)]
    )
    questions = questions[: args.n] if args.n else questions
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = load_settings(env={"RAGLAB_DATA_DIR": str(data_dir)})
        store = Store(data_dir, get_embedder(settings), chroma_server=settings.chroma_server)
        store.ingest(sample_files())
        options = list_models(settings)
        base, tuned = find_model(options, LOCAL_BASE), find_model(options, LOCAL_FINE_TUNED)
        if args.adapter:
            tuned = ModelSpec(f"Candidate {args.adapter.name}", "local", LOCAL_MODEL_ID,
                              adapter=str(args.adapter.resolve()), adapter_scale=1.0)
        assert base and tuned, "the shipped adapter is missing: run `make adapter`"
        adapters = adapter_paths(data_dir) + ([args.adapter.resolve()] if args.adapter else [])
        server = LocalServer(data_dir, watch_parent=True)
        try:
            server.ensure(adapters)
            ctx = GridContext(index=store, data_dir=data_dir)
            grid = cells(ChatModel(base, server=server, data_dir=data_dir),
                         ChatModel(tuned, server=server, data_dir=data_dir))
            run = jobs.start(BatchRun(questions, grid, ctx))
            state = run.wait()
            payload = run.results().to_json()  # JSON: what this script prints
        finally:
            server.stop()
    if state != "done":
        print(f"batch {state}: {run.error}", file=sys.stderr)
        return 1
    summary = payload["cells"]
    print(f"{len(questions)} questions ({args.set}), {base.label} vs {tuned.label}:")
    print(f"  {'cell':28}" + "".join(f"{c:>15}" for c in COLUMNS))
    for avg in summary.values():
        print(f"  {avg['label']:28}" + "".join(f"{avg.get(c)!s:>15}" for c in COLUMNS))
    load_after = os.getloadavg()[0]
    print(f"  load average {load_before:.2f} -> {load_after:.2f} (2 cores)")
    print(json.dumps({"bench": "compare", "set": args.set, "n_questions": len(questions),
                      "load_average_before": round(load_before, 2),
                      "load_average_after": round(load_after, 2), "cells": summary,
                      "questions": payload["questions"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
