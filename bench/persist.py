"""Where one small ingest's time goes in a big embedded store (profile of Store.ingest + _persist).

    .venv/bin/python bench/persist.py [--chunks 100000] [--batch 200]

Builds a --chunks store with bench/scale.py's synthetic corpus and random vectors, then
ingests --batch SciFact abstracts with a near-zero-cost embedder (random vectors: only the
index's own work is left) under cProfile, and prints the top functions by cumulative time,
plus the wall time of each part of the `_persist` that ends one more batch. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from bench.ingest import DEFAULT_DATASET, scifact_files  # noqa: E402
from bench.scale import RandomEmbedder, build, corpus  # noqa: E402
from lib.index.store import Store  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chunks", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = p.parse_args()
    files = scifact_files(args.dataset, 3 * args.batch)
    batches = [files[n * args.batch : (n + 1) * args.batch] for n in range(3)]
    out: dict = {"chunks": args.chunks, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="raglab-bench-persist-") as tmp:
        embedder = RandomEmbedder()
        started = time.perf_counter()
        store = Store(Path(tmp) / "big", embedder)
        build(store, corpus(args.chunks)[0], embedder)
        out["build_s"] = round(time.perf_counter() - started, 1)
        print(f"{store.n_chunks} chunks built in {out['build_s']} s", flush=True)
        started = time.perf_counter()
        store.ingest(batches[0])  # warm-up: caches, first-time imports
        out["ingest_warm_s"] = round(time.perf_counter() - started, 2)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        store.ingest(batches[1])
        profile.disable()
        out["ingest_s"] = round(time.perf_counter() - started, 2)
        print(f"one ingest of {args.batch} abstracts: {out['ingest_s']} s", flush=True)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        out["persist_parts_s"] = persist_parts(store, batches[2])
        print("one _persist, by part (s):", out["persist_parts_s"], flush=True)
        index = Path(tmp) / "big" / "index"
        out["index_mb"] = {f.name: round(f.stat().st_size / 1e6, 1) for f in index.iterdir()}
        store.close()
    print(json.dumps(out))
    return 0


def persist_parts(store: Store, batch) -> dict[str, float]:
    """Wall seconds of each step of the `_persist` ending one more ingest (timers wrapped around)."""
    from lib.index import store as store_module
    from lib.index.catalog import ChunkTableFile
    from lib.retrieval.keyword_file import KeywordFile

    parts: dict[str, float] = {}
    steps = [(store_module, "fsync_files"), (ChunkTableFile, "save"), (KeywordFile, "save"),
             (store_module, "save_registry")]
    originals = [(owner, name, getattr(owner, name)) for owner, name in steps]

    def timing(label, fn):
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                parts[label] = round(parts.get(label, 0) + time.perf_counter() - started, 3)
        return wrapper

    try:
        for owner, name, fn in originals:
            label = name if owner is store_module else f"{owner.__name__}.{name}"
            setattr(owner, name, timing(label, fn))
        persist = store._persist

        def timed_persist():
            started = time.perf_counter()
            persist()
            parts["total"] = round(time.perf_counter() - started, 3)

        store._persist = timed_persist
        store.ingest(batch)
        del store._persist
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    return parts


if __name__ == "__main__":
    raise SystemExit(main())
