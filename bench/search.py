"""Search latency per method at ~5,000 and ~50,000 chunks, through the real Store (Chroma + BM25).

    .venv/bin/python bench/search.py [--dataset ../shared/datasets/scifact] [--queries 100]
    .venv/bin/python bench/search.py --analyzer     # SciFact nDCG@10 per analyzer variant
    .venv/bin/python bench/search.py --at-scale [--chunks 100000] [--backends embedded,server]

~5k: SciFact abstracts (title + text) written as Markdown files, 50 abstracts per file (one
section each, so chunks never cross abstracts), ingested through Store.ingest with the real
MiniLM embedder. ~50k: the same files repeated x10 (each copy differs only by trailing blank
lines, so every copy is a new document with new chunk ids but identical chunk texts). The
50k ingest reuses the 5k run's vectors for identical texts through a caching embedder, so it
goes through Store.ingest without re-embedding; queries are always embedded for real.
Queries: SciFact test-split claims. Latency includes the query embedding (vector, hybrid);
`embed_query` and `vector_query` (Chroma alone, vector given) are the parts of a vector search.
--at-scale runs bench/scale.py's measurement (synthetic text, random vectors, built through the
Store) on each backend, embedded and a `chroma run` server: search latency at 100k chunks.
The last line is one JSON object.
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

import lib  # noqa: E402,F401  (offline env first)
from lib.config import load_settings  # noqa: E402
from lib.evaluation.beir import load_qrels  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.retrieval.keyword import KeywordIndex, analyze  # noqa: E402
from lib.retrieval.search import hybrid_search, keyword_search, vector_search  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
PER_FILE = 50
METHODS = {"vector": vector_search, "keyword": keyword_search, "hybrid": hybrid_search}


class CachingEmbedder:
    """Wraps the real embedder; identical texts get the vector computed the first time."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache: dict[str, np.ndarray] = {}
        self.misses = 0

    def embed(self, texts, progress=None):
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        self.misses += len(todo)
        if todo:
            for text, vec in zip(todo, self.inner.embed(todo)):
                self.cache[text] = vec
        if progress is not None:
            progress(len(texts), len(texts))
        return np.stack([self.cache[t] for t in texts]) if texts else self.inner.embed([])

    def embed_query(self, text):
        return self.inner.embed_query(text)  # queries are always embedded for real


def read_corpus(folder: Path) -> list[dict]:
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def load_scifact(folder: Path) -> tuple[list[dict], list[str]]:
    corpus = read_corpus(folder)
    test_ids = set(load_qrels(folder / "qrels" / "test.tsv"))
    queries = [
        q["text"]
        for q in map(json.loads, (folder / "queries.jsonl").open())
        if q["_id"] in test_ids
    ]
    return corpus, queries


def abstract_files(corpus: list[dict], target_chunks: int) -> list[tuple[str, bytes]]:
    """Markdown files of PER_FILE abstracts, enough for about `target_chunks` chunks."""
    from lib.ingest.chunking import split_document
    from lib.ingest.documents import parse_document
    from lib.types import ChunkSettings

    files, n_chunks = [], 0
    for start in range(0, len(corpus), PER_FILE):
        docs = corpus[start : start + PER_FILE]
        body = "\n\n".join(f"## {d.get('title') or d['_id']}\n\n{d['text']}" for d in docs)
        data = body.encode("utf-8")
        name = f"scifact_{start // PER_FILE:04d}.md"
        n_chunks += len(split_document(parse_document(name, data), ChunkSettings()))
        files.append((name, data))
        if n_chunks >= target_chunks:
            break
    return files


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return round(statistics.median(ordered), 2), round(p95, 2)


def time_methods(store, queries: list[str], k: int = 10) -> dict[str, dict[str, float]]:
    """p50/p95 ms per method; methods interleaved per query so noise hits all alike."""
    for q in queries[:5]:  # warm-up: caches, first Chroma query, lazy BM25 rebuild
        for fn in METHODS.values():
            fn(store, q, k)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for q in queries:
        for name, fn in METHODS.items():
            start = time.perf_counter()
            fn(store, q, k)
            times[name].append((time.perf_counter() - start) * 1000)
    vectors = [store.embedder.embed_query(q) for q in queries]
    for q, v in zip(queries, vectors):  # the parts of a vector search, timed alone
        start = time.perf_counter()
        store.embedder.embed_query(q)
        middle = time.perf_counter()
        store.vector_query(v, k)
        times.setdefault("embed_query", []).append((middle - start) * 1000)
        times.setdefault("vector_query", []).append((time.perf_counter() - middle) * 1000)
    p50 = {m: percentiles(v)[0] for m, v in times.items()}
    p95 = {m: percentiles(v)[1] for m, v in times.items()}
    return {"p50_ms": p50, "p95_ms": p95}


def ingest(data_dir: Path, embedder, files) -> tuple[object, float]:
    from lib.index.store import Store

    store = Store(data_dir, embedder)
    start = time.perf_counter()
    results = store.ingest(files)
    refused = [r for r in results if r.status != "ingested"]
    if refused:
        raise SystemExit(f"ingest refused {len(refused)} files: {refused[0].reason}")
    return store, time.perf_counter() - start


def bm25_comparison(store, queries: list[str]) -> dict[str, float]:
    """rank-bm25's full scan vs our postings on the same tokenised chunks (and equal scores)."""
    from rank_bm25 import BM25Okapi

    chunks = store.chunks()
    tokens = [analyze(c.text) for c in chunks]
    start = time.perf_counter()
    reference = BM25Okapi(tokens)
    build_ref = time.perf_counter() - start
    ours = KeywordIndex()
    start = time.perf_counter()
    ours.add([c.id for c in chunks], [c.text for c in chunks])
    ours.search("warm up", 1)
    build_ours = time.perf_counter() - start
    scan, post, worst = [], [], 0.0
    for q in queries:
        terms = analyze(q)
        t0 = time.perf_counter()
        ref_scores = reference.get_scores(terms)
        top = np.argsort(-ref_scores)[:10]
        t1 = time.perf_counter()
        got = ours.search(q, 10)
        t2 = time.perf_counter()
        scan.append((t1 - t0) * 1000)
        post.append((t2 - t1) * 1000)
        worst = max(
            worst,
            float(np.max(np.abs(np.array([s for _, s in got]) - ref_scores[top][: len(got)])))
            if got
            else 0.0,
        )
    return {
        "rank_bm25_scan_p50_ms": percentiles(scan)[0],
        "postings_p50_ms": percentiles(post)[0],
        "max_abs_score_diff_top10": worst,
        "rank_bm25_build_s": round(build_ref, 1),
        "postings_build_s": round(build_ours, 1),
    }


def run_latency(dataset: Path, n_queries: int, skip_50k: bool) -> dict:
    corpus, queries = load_scifact(dataset)
    queries = queries[:n_queries]
    embedder = CachingEmbedder(get_embedder(load_settings(env={})))
    files = abstract_files(corpus, 5000)
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        store, seconds = ingest(Path(tmp) / "5k", embedder, files)
        out["chunks"] = store.n_chunks
        print(
            f"~5k: {len(files)} files, {store.n_chunks} chunks ingested in {seconds:.1f} s",
            flush=True,
        )
        out.update(time_methods(store, queries))
        print(f"~5k: p50 {out['p50_ms']}  p95 {out['p95_ms']}", flush=True)
        del store
        if not skip_50k:
            out["at_50k"] = run_50k(Path(tmp) / "50k", embedder, files, queries)
    return out


def run_50k(data_dir: Path, embedder: CachingEmbedder, files, queries: list[str]) -> dict:
    copies = [(f"copy{c}_{name}", data + b"\n" * c) for c in range(10) for name, data in files]
    misses_before = embedder.misses
    store, seconds = ingest(data_dir, embedder, copies)
    print(
        f"~50k: {len(copies)} files, {store.n_chunks} chunks ingested in {seconds:.1f} s "
        f"(embedding cache misses: {embedder.misses - misses_before})",
        flush=True,
    )
    result = {"chunks": store.n_chunks, **time_methods(store, queries)}
    print(f"~50k: p50 {result['p50_ms']}  p95 {result['p95_ms']}", flush=True)
    result["bm25"] = bm25_comparison(store, queries[:30])
    print(f"~50k keyword: rank-bm25 full scan vs postings {result['bm25']}", flush=True)
    return result


def run_analyzer(dataset: Path) -> dict:
    """SciFact BM25 nDCG@10 (train and test splits) for each analyzer variant."""
    from functools import partial

    from lib.evaluation.metrics import ndcg_at_k

    corpus = read_corpus(dataset)
    queries = {q["_id"]: q["text"] for q in map(json.loads, (dataset / "queries.jsonl").open())}
    variants = {
        "plain+stop": {"stem": False},
        "stem+stop": {},
        "stem-nostop": {"stop_words": False},
        "plain-nostop": {"stem": False, "stop_words": False},
    }
    out: dict = {}
    for name, flags in variants.items():
        index = KeywordIndex(analyzer=partial(analyze, **flags))
        index.add(
            [d["_id"] for d in corpus],
            [f"{d.get('title', '')} {d['text']}".strip() for d in corpus],
        )
        out[name] = {}
        for split in ("train", "test"):
            qrels = load_qrels(dataset / "qrels" / f"{split}.tsv")
            values = [
                ndcg_at_k([d for d, _ in index.search(queries[q], 10)], rel, 10)
                for q, rel in qrels.items()
            ]
            out[name][split] = round(sum(values) / len(values), 4)
        print(f"{name}: nDCG@10 {out[name]}", flush=True)
    return {"scifact_bm25_ndcg10": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-50k", action="store_true")
    parser.add_argument("--analyzer", action="store_true", help="measure analyzer variants instead")
    parser.add_argument("--at-scale", action="store_true",
                        help="search at --chunks on each of --backends (bench/scale.py)")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--backends", default="embedded,server")
    args = parser.parse_args()
    if args.at_scale:
        from bench.scale import scale_figures

        print(json.dumps(scale_figures(args.chunks, args.queries, args.backends)))
        return
    if not (args.dataset / "corpus.jsonl.gz").is_file():
        print(f"SciFact not found at {args.dataset}: skipped")
        print(json.dumps({"skipped": "scifact dataset not found"}))
        return
    result = (
        run_analyzer(args.dataset)
        if args.analyzer
        else run_latency(args.dataset, args.queries, args.skip_50k)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
