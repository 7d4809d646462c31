"""100,000 chunks through the real Store, embedded and on a Chroma server: build, open, search, memory.

    .venv/bin/python bench/scale.py [--chunks 100000] [--queries 100] [--backends embedded,server]

Text is synthetic but realistic in shape: documents of 100 sections, one chunk each of
90-130 Zipf-distributed words from a 20,000-word vocabulary plus a product code; they are
committed through the Store's own commit path in groups, as the ingest pipeline does
(parsing and chunking are skipped: bench/ingest.py measures those).
**Vectors are random unit vectors (384-d), not the MiniLM embedder**: embedding 100k chunks
would take over an hour here and does not change what is timed (Chroma's search over
100k vectors, the BM25 index, opening and loading). Queries are 3-6 vocabulary words, and
their vectors random too. Each backend runs in a child process of its own, so the memory
figure (RSS after opening) is that backend's alone; the server backend starts `chroma run`.
Timed per backend: build, reopen (warm: the local files / cache), a cold open of the
server index from a fresh data dir (everything fetched from the server), a page rerun's
reads (n_documents, n_chunks, documents_page), and vector / keyword / hybrid p50 / p95.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.ingest.chunking import doc_id_for  # noqa: E402
from lib.types import Chunk, Page, ParsedDocument, chunk_id  # noqa: E402

CHUNKS_PER_DOC = 100
GROUP_DOCS = 20  # documents per commit (~2,000 chunks, like the pipeline's groups)
DIM = 384


class RandomEmbedder:
    """Random unit vectors, seeded by the text (so a text always gets the same vector).

    `name`: bench/ingest.py builds its 100k store under the real embedder's name, so the
    real one can then ingest into it.
    """

    dim = DIM

    def __init__(self, name: str = "random-unit-384"):
        self.name = name

    def embed(self, texts, progress=None):
        out = np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, DIM))
        if progress is not None:
            progress(len(texts), len(texts))
        return out.astype(np.float32)

    def embed_query(self, text):
        rng = np.random.default_rng(abs(hash(text)) % (2**32))
        v = rng.standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)


def vocabulary(rng: np.random.Generator, n: int = 20_000) -> list[str]:
    """Pronounceable made-up words (2-4 syllables)."""
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    return ["".join(rng.choice(syllables, rng.integers(2, 5))) for _ in range(n)]


def corpus(target_chunks: int, seed: int = 7) -> tuple[list[tuple[ParsedDocument, list[Chunk]]], list[str]]:
    """Markdown-like documents of CHUNKS_PER_DOC sections, one ~110-word chunk each."""
    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    zipf = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    zipf /= zipf.sum()
    docs = []
    for n in range(-(-target_chunks // CHUNKS_PER_DOC)):
        pages = []
        for _ in range(min(CHUNKS_PER_DOC, target_chunks - n * CHUNKS_PER_DOC)):
            picked = rng.choice(len(words), size=int(rng.integers(90, 130)), p=zipf)
            code = f"OB-{rng.integers(1000, 9999)}"
            text = " ".join(words[i] for i in picked).capitalize() + f". See {code}."
            pages.append(Page(None, f"{words[picked[0]].title()} {code}", text))
        name = f"synthetic_{n:04d}.md"
        sha = hashlib.sha256("\n".join(p.text for p in pages).encode()).hexdigest()
        doc = ParsedDocument(name, "md", sha, sum(len(p.text) for p in pages), tuple(pages))
        doc_id = doc_id_for(sha)
        chunks = [Chunk(chunk_id(doc_id, i), doc_id, name, None, p.section, 0, len(p.text), p.text)
                  for i, p in enumerate(pages)]
        docs.append((doc, chunks))
    return docs, words


def build(store, docs, embedder) -> None:
    """Commit the documents in groups, as the ingest pipeline does, then persist once.

    The pipeline's parse + chunk step is skipped (it is measured by bench/ingest.py): the
    made-up words tokenise into many WordPieces and would dominate the build time.
    """
    for start in range(0, len(docs), GROUP_DOCS):
        group = docs[start : start + GROUP_DOCS]
        texts = [c.text for _, cs in group for c in cs]
        store._commit([(d, cs, None) for d, cs in group], embedder.embed(texts))
    store._persist()


def timed_ms(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def pcts(values: list[float], digits: int = 2) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(ordered[len(ordered) // 2], digits),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], digits)}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_backend(backend: str, n_chunks: int, n_queries: int, port: int | None) -> dict:
    """Everything for one backend, in this (child) process."""
    from lib.index.store import Store
    from lib.retrieval.search import hybrid_search, keyword_search, vector_search

    server = server_for(port, "bench-scale")
    docs, words = corpus(n_chunks)
    embedder = RandomEmbedder()
    out: dict = {"backend": backend}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        start = time.perf_counter()
        store = Store(Path(tmp) / "a", embedder, chroma_server=server)
        build(store, docs, embedder)
        out["build_s"] = round(time.perf_counter() - start, 1)
        out["chunks"], out["documents"] = store.n_chunks, store.n_documents
        print(f"{backend}: {out['chunks']} chunks in {out['documents']} documents, "
              f"committed in {out['build_s']} s", flush=True)
        store.close()
        start = time.perf_counter()
        store = Store(Path(tmp) / "a", embedder, chroma_server=server)
        out["open_s"] = round(time.perf_counter() - start, 2)
        out["rss_after_open_mb"] = rss_mb()
        if server is not None:
            start = time.perf_counter()
            cold = Store(Path(tmp) / "cold", embedder, chroma_server=server)
            out["cold_open_s"] = round(time.perf_counter() - start, 2)
            assert cold.n_chunks == out["chunks"]
            cold.close()
        rerun = [timed_ms(lambda: (store.n_documents, store.n_chunks,
                                   store.documents_page(0, 50))) for _ in range(200)]
        out["page_reads_ms"] = pcts(rerun, 4)
        rng = np.random.default_rng(1)
        queries = [" ".join(rng.choice(words[:3000], int(rng.integers(3, 7))))
                   for _ in range(n_queries)]
        methods = {"vector": vector_search, "keyword": keyword_search, "hybrid": hybrid_search}
        for q in queries[:5]:  # warm-up (first query builds the BM25 postings)
            for fn in methods.values():
                fn(store, q, 10)
        times: dict[str, list[float]] = {m: [] for m in methods}
        for q in queries:  # interleaved, so noise hits every method alike
            for name, fn in methods.items():
                times[name].append(timed_ms(fn, store, q, 10))
        out["search_ms"] = {m: pcts(v) for m, v in times.items()}
        out["rss_end_mb"] = rss_mb()
        print(f"{backend}: open {out['open_s']} s"
              + (f", cold open {out['cold_open_s']} s" if server else "")
              + f", RSS {out['rss_after_open_mb']} MB; page reads {out['page_reads_ms']} ms; "
              f"search {out['search_ms']}", flush=True)
        store.close()
    return out


def run_children(script: str, backends: str, args: list[str]) -> dict[str, dict]:
    """Run `script --child BACKEND *args` once per backend (a `chroma run` for "server").

    Each child prints figures, then one JSON line: its result. Used by bench/search.py and
    bench/ingest.py for their 100k-chunk modes too.
    """
    from tests.chroma_server import CHROMA, free_port, stop, wait_ready

    results = {}
    for backend in backends.split(","):
        cmd = [sys.executable, script, "--child", backend, *args]
        proc, tmp = None, tempfile.TemporaryDirectory(prefix="bench-chroma-")
        try:
            if backend == "server":
                port = free_port()
                log = Path(tmp.name) / "server.log"
                with log.open("wb") as handle:
                    proc = subprocess.Popen([str(CHROMA), "run", "--path", f"{tmp.name}/data",
                                             "--host", "127.0.0.1", "--port", str(port)],
                                            stdout=handle, stderr=subprocess.STDOUT)
                wait_ready(proc, port, log)
                cmd += ["--port", str(port)]
            child = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
            sys.stdout.write("".join(child.stdout.splitlines(True)[:-1]))
            if child.returncode != 0:
                raise SystemExit(f"{backend} failed (exit {child.returncode})")
            results[backend] = json.loads(child.stdout.splitlines()[-1])
        finally:
            if proc is not None:
                stop(proc)
            tmp.cleanup()
    return results


def child_options(parser: argparse.ArgumentParser) -> None:
    """The options a child run of `run_children` gets (internal)."""
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)


def server_for(port: int | None, collection: str):  # -> ChromaServer | None
    """The child's Chroma server (None: embedded)."""
    from lib.config import ChromaServer

    return ChromaServer("127.0.0.1", port, collection=collection) if port else None


def scale_figures(chunks: int, queries: int, backends: str) -> dict:
    """This benchmark for each backend, as one JSON-ready dict."""
    results = run_children(str(Path(__file__).resolve()), backends,
                           ["--chunks", str(chunks), "--queries", str(queries)])
    return {"chunks_target": chunks, "vectors": "random unit (no embedder)", **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--backends", default="embedded,server")
    child_options(parser)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(args.child, args.chunks, args.queries, args.port)))
        return
    print(json.dumps(scale_figures(args.chunks, args.queries, args.backends)))


if __name__ == "__main__":
    main()
