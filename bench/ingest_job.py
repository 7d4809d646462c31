"""The background ingest job: how fast a cancel takes effect, and how good the ETA is.

    .venv/bin/python bench/ingest_job.py [--limit N] [--cancels 3]

Documents: SciFact abstracts (one .txt each, default 300), into fresh temp data dirs.
  eta      one full run through IngestJob; at 25 %, 50 % and 75 % of the chunks the ETA the
           page would show is compared with the time the run really still took
  cancel   runs cancelled once embedding is under way: seconds from cancel() to the job's
           end (the page's "Stopping at the next safe point"), and the store left consistent
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env before onnxruntime)
from bench.ingest import DEFAULT_DATASET, scifact_files  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.ingest.job import submit  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402


def eta_run(files, embedder) -> list[dict]:
    """One whole run; (share done, ETA shown, seconds really left) at three points."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data", embedder)
        job, _ = submit(store, files)
        marks, seen = (0.25, 0.5, 0.75), []
        while job.running:
            d = job.snapshot().detail
            p = d.file
            if p and p.chunks_total and len(seen) < len(marks) and d.eta is not None \
                    and p.chunks_done >= marks[len(seen)] * p.chunks_total:
                seen.append((marks[len(seen)], d.eta, time.monotonic()))
            time.sleep(0.2)
        end = time.monotonic()
        store.close()
    return [{"at": at, "eta_s": round(eta, 1), "actual_s": round(end - t, 1)} for at, eta, t in seen]


def cancel_run(files, embedder) -> float:
    """Seconds from cancel() to the job's end, cancelled after the first embedding report."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data", embedder)
        job, _ = submit(store, files)
        while job.running and not ((p := job.snapshot().detail.file) and p.chunks_done):
            time.sleep(0.05)
        asked = time.monotonic()
        job.cancel()
        job.wait(600)
        took = time.monotonic() - asked
        assert store.check_consistency() == [], "a cancel left the index inconsistent"
        store.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--cancels", type=int, default=3)
    args = parser.parse_args()
    if not (DEFAULT_DATASET / "corpus.jsonl.gz").is_file():
        print(json.dumps({"skipped": f"no dataset at {DEFAULT_DATASET}"}))
        return 0
    files = scifact_files(DEFAULT_DATASET, args.limit)
    embedder = get_embedder(load_settings(env={}))
    started = time.monotonic()
    etas = eta_run(files, embedder)
    full = time.monotonic() - started
    for e in etas:
        print(f"at {e['at']:.0%} of the chunks: ETA {e['eta_s']} s, really {e['actual_s']} s left")
    cancels = [cancel_run(files, embedder) for _ in range(args.cancels)]
    print(f"full run of {len(files)} files: {full:.1f} s")
    print(f"cancel -> job ended: median {statistics.median(cancels):.2f} s, max {max(cancels):.2f} s")
    print(json.dumps({"files": len(files), "full_run_s": round(full, 1), "eta": etas,
                      "cancel_s_median": round(statistics.median(cancels), 2),
                      "cancel_s_max": round(max(cancels), 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
