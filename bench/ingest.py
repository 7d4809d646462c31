"""Ingest throughput, today's embedder path vs the new one, and ingest vs raw embedding.

    .venv/bin/python bench/ingest.py [--limit N] [--rounds R] [--sample-docs] [--dataset DIR]
    .venv/bin/python bench/ingest.py --at-scale [--chunks 100000] [--batch 200] [--rounds 2]
                                     [--backends embedded,server]

Documents: SciFact abstracts (title + text), one .txt file each (default the first 1,000,
about 3,450 chunks: enough groups of GROUP_CHUNKS for the pipeline's commit overlap and
fixed costs to show as they do on big uploads; --limit 0 for all 5,183), or the bundled
sample documents with --sample-docs. The files are parsed and chunked once to get the chunk texts. Two
embedders:
  A  today's path: the int8pc file, one two-thread onnxruntime run at a time
  B  the default: its file (int8pc-mha: attention fused), one-thread runs side by
     side, one per core (MiniLMEmbedder defaults)
Each round runs, back to back: raw A embed(all chunk texts), ingest A (Store.ingest into a
fresh temp data dir: parse, chunk, embed, Chroma, BM25, save), raw B, ingest B. Rounds
interleave (A B A B ...) because the machine is shared: timings drift between runs, so
only ratios within one run mean something. Reported: B/A for ingest and raw (medians
of the per-round ratios; goal >= 1.4; also by process CPU time, steadier on a busy
machine), B's ingest/raw (goal >= 0.9), the minimum
cosine between A's and B's vectors (1.0 for the same file), and embed_query latency (median ms on SciFact
queries, A vs B). The last line is one JSON object.

--at-scale: does ingestion slow down in a big index? Per backend (embedded, and a `chroma run`
server; each in a child process, bench/scale.py), a store is first filled with --chunks
synthetic chunks (bench/scale.py's corpus and commit path, random vectors stored under the
real embedder's name); then each round ingests --batch new SciFact abstracts with the real
embedder through Store.ingest into a fresh empty store and into the big one, back to back
(each round its own abstracts). Reported: chunks/s empty vs full and their ratio (median of
rounds), and the seconds outside the embedder (what the index size can slow down).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env before onnxruntime)
from lib.ingest.chunking import split_document  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.ingest.documents import parse_document  # noqa: E402
from lib.retrieval.embeddings import MiniLMEmbedder, get_embedder  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.types import ChunkSettings  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
TODAY_VARIANT = "int8pc"  # the default model file before the attention fusion (issue 16)


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


def query_latency_ms(embedder, queries: list[str]) -> float:
    """Median milliseconds of embed_query over the queries."""
    times = []
    for q in queries:
        started = time.perf_counter()
        embedder.embed_query(q)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def scifact_queries(folder: Path, limit: int = 50) -> list[str]:
    """The first test-set query texts (short, as typed in the app)."""
    path = folder / "queries.jsonl"
    if not path.is_file():
        return ["How do I reset my card PIN?"] * limit
    rows = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    return rows[:limit]


def run_round(embedder: TimedEmbedder, files, texts, chunking) -> dict:
    """Raw embed of all chunk texts, then a full ingest into a fresh temp data dir."""
    vectors, raw_s, raw_cpu = timed(lambda: embedder.inner.embed(texts))
    embedder.seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="raglab-bench-") as tmp:
        store = Store(Path(tmp) / "data", embedder, chunking)
        results, ingest_s, ingest_cpu = timed(lambda: store.ingest(files))
        n_chunks, problems = store.n_chunks, store.check_consistency()
        store.close()
    refused = sum(r.status != "ingested" for r in results)
    return {"raw": len(texts) / raw_s, "ingest": n_chunks / ingest_s, "ingest_s": ingest_s,
            "raw_cpu": raw_cpu, "ingest_cpu": ingest_cpu,
            "inside": embedder.seconds, "ok": not refused and not problems
            and n_chunks == len(texts), "vectors": vectors}


def timed_ingest(store, embedder: TimedEmbedder, files) -> dict:
    """One Store.ingest: chunks/s, and seconds inside and outside the embedder."""
    embedder.seconds, before = 0.0, store.n_chunks
    results, seconds, _ = timed(lambda: store.ingest(files))
    added = store.n_chunks - before
    assert all(r.status == "ingested" for r in results), [r.reason for r in results if r.reason]
    return {"chunks": added, "chunks_per_s": round(added / seconds, 1), "s": round(seconds, 2),
            "outside_embedder_s": round(seconds - embedder.seconds, 2)}


def run_at_scale(backend: str, port: int | None, args) -> dict:
    """The --at-scale rounds for one backend (in its child process)."""
    from bench.scale import RandomEmbedder, build, corpus, server_for

    settings = load_settings()
    real = TimedEmbedder(get_embedder(settings))
    files = scifact_files(args.dataset, args.batch * args.rounds)
    batches = [files[n * args.batch : (n + 1) * args.batch] for n in range(args.rounds)]
    real.inner.embed(["warm-up"] * 8)
    out: dict = {"backend": backend, "rounds": []}
    with tempfile.TemporaryDirectory(prefix="raglab-bench-scale-") as tmp:
        big_server = server_for(port, "bench-ingest-big")
        started = time.perf_counter()
        big = Store(Path(tmp) / "big", RandomEmbedder(real.name), chroma_server=big_server)
        build(big, corpus(args.chunks)[0], big.embedder)
        big.close()
        big = Store(Path(tmp) / "big", real, chroma_server=big_server)
        out["big_chunks"], out["build_s"] = big.n_chunks, round(time.perf_counter() - started, 1)
        print(f"{backend}: big store of {big.n_chunks} chunks built in {out['build_s']} s",
              flush=True)
        for n, batch in enumerate(batches):
            empty = Store(Path(tmp) / f"empty{n}", real,
                          chroma_server=server_for(port, f"bench-ingest-empty{n}"))
            r = {"empty": timed_ingest(empty, real, batch), "big": timed_ingest(big, real, batch)}
            empty.close()
            r["big_over_empty"] = round(r["big"]["chunks_per_s"] / r["empty"]["chunks_per_s"], 3)
            out["rounds"].append(r)
            print(f"{backend} round {n + 1}: {r['empty']['chunks']} chunks; empty store "
                  f"{r['empty']['chunks_per_s']} chunks/s ({r['empty']['outside_embedder_s']} s "
                  f"outside the embedder), {big.n_chunks - r['big']['chunks']}-chunk store "
                  f"{r['big']['chunks_per_s']} chunks/s ({r['big']['outside_embedder_s']} s); "
                  f"ratio {r['big_over_empty']}", flush=True)
        out["consistent"] = not big.check_consistency()
        big.close()
    out["big_over_empty"] = statistics.median(r["big_over_empty"] for r in out["rounds"])
    return out


def at_scale(args) -> int:
    """--at-scale: each backend in a child process (bench/scale.py's runner)."""
    from bench.scale import run_children

    results = run_children(str(Path(__file__).resolve()), args.backends,
                           ["--at-scale", "--chunks", str(args.chunks), "--batch", str(args.batch),
                            "--rounds", str(args.rounds), "--dataset", str(args.dataset)])
    for backend, r in results.items():
        print(f"{backend}: ingest into {r['big_chunks']:,} chunks vs an empty store: "
              f"{r['big_over_empty']:.3f}x the chunks/s (median of {len(r['rounds'])} rounds)")
    print(json.dumps({"mode": "at-scale", "chunks": args.chunks, "batch": args.batch,
                      **results}))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    p.add_argument("--limit", type=int, default=1000, help="first N abstracts (0: all)")
    p.add_argument("--rounds", type=int, default=3, help="A B rounds (default 3)")
    p.add_argument("--sample-docs", action="store_true", help="use sample_docs/ instead of SciFact")
    p.add_argument("--at-scale", action="store_true", help="ingest into a big store vs an empty one")
    p.add_argument("--chunks", type=int, default=100_000, help="--at-scale: the big store's size")
    p.add_argument("--batch", type=int, default=200, help="--at-scale: abstracts per round")
    p.add_argument("--backends", default="embedded,server")
    from bench.scale import child_options

    child_options(p)
    args = p.parse_args()
    if args.at_scale and args.child:
        print(json.dumps(run_at_scale(args.child, args.port, args)))
        return 0
    if args.at_scale:
        if not (args.dataset / "corpus.jsonl.gz").is_file():
            print(json.dumps({"skipped": f"no dataset at {args.dataset}"}))
            return 0
        return at_scale(args)
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
    new = get_embedder(settings)
    if not isinstance(new, MiniLMEmbedder):
        print(f"embedder {new.name} is not MiniLM: nothing to compare")
        print(json.dumps({"skipped": f"embedder {new.name}"}))
        return 0
    old = MiniLMEmbedder(variant=TODAY_VARIANT, threads=2, workers=1)
    paths = {"A": TimedEmbedder(old), "B": TimedEmbedder(new)}
    texts = chunk_texts(files, chunking)
    queries = scifact_queries(args.dataset)
    for e in paths.values():
        e.inner.embed(texts[:8])  # warm-up: session, allocator, caches
    print(f"{source}: {len(files)} documents -> {len(texts)} chunks (size {chunking.size}, "
          f"overlap {chunking.overlap}); embedder {new.name}\n"
          f"A = {old.name}, 1 run x 2 threads; B = {new.name}, {new.workers} concurrent runs x 1 thread",
          flush=True)

    rounds: list[dict[str, dict]] = []
    for n in range(1, args.rounds + 1):
        rounds.append({})
        for key, emb in paths.items():
            r = rounds[-1][key] = run_round(emb, files, texts, chunking)
            r["query_ms"] = query_latency_ms(emb.inner, queries)
            print(f"round {n} {key}: raw {r['raw']:6.1f} chunks/s  ingest {r['ingest']:6.1f} "
                  f"chunks/s  (inside the embedder {r['inside']:.1f} of {r['ingest_s']:.1f} s)  "
                  f"query {r['query_ms']:.1f} ms", flush=True)
    med = statistics.median
    ingest_ratio = med(r["B"]["ingest"] / r["A"]["ingest"] for r in rounds)
    raw_ratio = med(r["B"]["raw"] / r["A"]["raw"] for r in rounds)
    ingest_raw = med(r["B"]["ingest"] / r["B"]["raw"] for r in rounds)
    # By CPU time: the raw run's CPU over the ingest's (which adds the commit thread's work);
    # steadier than wall time when other jobs come and go.
    ingest_raw_cpu = med(r["B"]["raw_cpu"] / r["B"]["ingest_cpu"] for r in rounds)
    # Process CPU seconds A / B: steadier than wall time when other jobs load the cores
    # (spinning thread-pool waits count as CPU, so on idle cores it tracks wall time).
    ingest_ratio_cpu = med(r["A"]["ingest_cpu"] / r["B"]["ingest_cpu"] for r in rounds)
    raw_ratio_cpu = med(r["A"]["raw_cpu"] / r["B"]["raw_cpu"] for r in rounds)
    min_cos = min(float(np.min(np.sum(r["A"]["vectors"] * r["B"]["vectors"], axis=1)))
                  for r in rounds)
    query_ms = {k: med(r[k]["query_ms"] for r in rounds) for k in paths}
    ok = all(r[k]["ok"] for r in rounds for k in paths)
    print(f"B/A ingest chunks/s: {ingest_ratio:.3f} (goal >= 1.4); raw: {raw_ratio:.3f}")
    print(f"B/A by process CPU time: ingest {ingest_ratio_cpu:.3f}; raw {raw_ratio_cpu:.3f}")
    print(f"B ingest/raw: {ingest_raw:.3f} (goal >= 0.9; by CPU time {ingest_raw_cpu:.3f}); "
          f"min cosine A vs B {min_cos:.6f}")
    print(f"embed_query median: A {query_ms['A']:.1f} ms, B {query_ms['B']:.1f} ms")
    if not ok:
        print("WARNING: some ingest did not index every chunk, or left an inconsistent index")
    print(json.dumps({
        "source": source, "documents": len(files), "chunks": len(texts), "embedder": new.name,
        "workers": new.workers, "rounds": args.rounds,
        "ingest_ratio_new_vs_today": round(ingest_ratio, 3),
        "raw_ratio_new_vs_today": round(raw_ratio, 3), "ingest_over_raw": round(ingest_raw, 3),
        "ingest_over_raw_cpu": round(ingest_raw_cpu, 3),
        "ingest_ratio_cpu": round(ingest_ratio_cpu, 3), "raw_ratio_cpu": round(raw_ratio_cpu, 3),
        "min_cosine_new_vs_today": round(min_cos, 6),
        "chunks_per_s": {k: {"ingest": [round(r[k]["ingest"], 1) for r in rounds],
                             "raw": [round(r[k]["raw"], 1) for r in rounds]} for k in paths},
        "query_ms": {k: round(v, 2) for k, v in query_ms.items()}, "consistent": ok,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
