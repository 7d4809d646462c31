"""Ingest throughput vs raw embedding throughput on the very same chunk texts.

    .venv/bin/python bench/ingest.py [--limit N] [--sample-docs] [--dataset DIR] [--no-bracket]

Documents: SciFact abstracts (title + text), one .txt file each (default all 5,183), or
the bundled sample documents with --sample-docs. The files are parsed and chunked once
to get the chunk texts; then, back to back on the same machine state:
  raw     embedder.embed(all chunk texts)                   (the ceiling)
  ingest  Store.ingest(files) into a fresh temp data dir  (parse, chunk, embed, Chroma, BM25, save)
  raw     again (unless --no-bracket), so the ratio compares against the mean of two raws
The goal is ingest >= 90% of raw throughput. Time spent inside the embedder during the
ingest is measured too, so the non-embedding overhead is visible. CPU-time figures
(process time / 2 cores) are printed as well: steadier than wall time on a noisy machine.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env before onnxruntime)
from lib.ingest.chunking import split_document  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.ingest.documents import parse_document  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.types import ChunkSettings  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"


class TimedEmbedder:
    """The real embedder, with the seconds spent inside `embed` added up."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seconds = 0.0

    def embed(self, texts, progress=None):
        started = time.perf_counter()
        try:
            return self.inner.embed(texts, progress)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text):
        return self.inner.embed_query(text)


def scifact_files(folder: Path, limit: int) -> list[tuple[str, bytes]]:
    """Each abstract as a small text document: title, blank line, text."""
    out = []
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            body = f"{row.get('title', '')}\n\n{row.get('text', '')}".strip()
            out.append((f"{row['_id']}.txt", body.encode("utf-8")))
            if limit and len(out) >= limit:
                break
    return out


def chunk_texts(files: list[tuple[str, bytes]], settings: ChunkSettings) -> list[str]:
    """The chunk texts Store.ingest will embed (parsed and split the same way)."""
    docs = (parse_document(name, data) for name, data in files)
    return [c.text for doc in docs for c in split_document(doc, settings)]


def timed(fn):
    """(result, wall seconds, process CPU seconds) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    p.add_argument("--limit", type=int, default=0, help="first N abstracts (default: all)")
    p.add_argument("--sample-docs", action="store_true", help="use sample_docs/ instead of SciFact")
    p.add_argument("--no-bracket", action="store_true", help="one raw run before the ingest only")
    args = p.parse_args()
    if args.sample_docs:
        from lib.samples import sample_files

        files, source = sample_files(), "sample_docs"
    elif (args.dataset / "corpus.jsonl.gz").is_file():
        files, source = scifact_files(args.dataset, args.limit), "scifact"
    else:
        print(f"SciFact not found at {args.dataset}: skipped (try --sample-docs)")
        print(json.dumps({"skipped": f"no dataset at {args.dataset}"}))
        return 0
    settings = load_settings()
    chunking = ChunkSettings(settings.chunk_size, settings.chunk_overlap)
    embedder = TimedEmbedder(get_embedder(settings))
    texts = chunk_texts(files, chunking)
    embedder.inner.embed(texts[:8])  # warm-up: session, allocator, caches
    print(f"{source}: {len(files)} documents -> {len(texts)} chunks (size {chunking.size}, "
          f"overlap {chunking.overlap}); embedder {embedder.name}", flush=True)

    raws = [timed(lambda: embedder.inner.embed(texts))[1:]]
    print(f"raw embed   {raws[0][0]:8.1f} s  {len(texts) / raws[0][0]:6.1f} chunks/s", flush=True)
    with tempfile.TemporaryDirectory(prefix="raglab-bench-") as tmp:
        store = Store(Path(tmp) / "data", embedder, chunking)
        results, ingest_s, ingest_cpu = timed(lambda: store.ingest(files))
        n_chunks, problems = store.n_chunks, store.check_consistency()
        store.close()
    refused = [r for r in results if r.status != "ingested"]
    other = ingest_s - embedder.seconds
    print(f"ingest      {ingest_s:8.1f} s  {n_chunks / ingest_s:6.1f} chunks/s  "
          f"(inside the embedder {embedder.seconds:.1f} s, other work {other:.1f} s)", flush=True)
    if not args.no_bracket:
        raws.append(timed(lambda: embedder.inner.embed(texts))[1:])
        rate = len(texts) / raws[1][0]
        print(f"raw embed   {raws[1][0]:8.1f} s  {rate:6.1f} chunks/s", flush=True)
    raw_s = sum(r[0] for r in raws) / len(raws)
    raw_cpu = sum(r[1] for r in raws) / len(raws)
    embed_rate, ingest_rate = len(texts) / raw_s, n_chunks / ingest_s
    ratio, ratio_cpu = ingest_rate / embed_rate, raw_cpu / ingest_cpu
    print(f"ratio ingest/raw: {ratio:.3f} wall, {ratio_cpu:.3f} CPU-time  (goal >= 0.90)")
    if refused or problems or n_chunks != len(texts):
        print(f"WARNING: {len(refused)} not ingested, consistency {problems}, "
              f"{n_chunks} chunks indexed vs {len(texts)} expected")
    print(json.dumps({
        "source": source, "documents": len(files), "chunks": n_chunks, "embedder": embedder.name,
        "ingest_chunks_per_s": round(ingest_rate, 2), "embed_chunks_per_s": round(embed_rate, 2),
        "ratio": round(ratio, 3), "ratio_cpu": round(ratio_cpu, 3),
        "seconds": {"ingest": round(ingest_s, 1), "raw": [round(r[0], 1) for r in raws],
                    "ingest_inside_embedder": round(embedder.seconds, 1)},
        "refused": len(refused), "consistent": not problems,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
