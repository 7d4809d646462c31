"""Load: 8 sessions searching and 2 chatting at once for two minutes, against 127.0.0.1 only.

    .venv/bin/python bench/load.py                 # 120 s, 8 search + 2 chat sessions
    .venv/bin/python bench/load.py --seconds 10    # a short run (the slow test does this)

What it measures: the app's engine under concurrent sessions, driven the way Streamlit
drives it. One process plays the app process: one shared Store (real Chroma + BM25 over
the sample documents, ingested into a temporary data dir) and one LocalServer manager with
the real local model server (llama.cpp), as `st.cache_resource` shares them; each session
is a thread, as each Streamlit session's script run is. A search session makes the Search
lab page's calls for one query (vector, keyword and hybrid search), then reads for
`--think` seconds; a chat session makes the Chat page's calls (a fresh ChatModel per
question, `rag.ask` with the saved tuning, the stream read to its end, grounding
included), then pauses `--chat-think` seconds. Time to first token is from the question's
submission to the first streamed text (retrieval and the readiness check included).

Not measured: Streamlit's own rendering and websocket traffic, and the browser (Chromium
per session would take the two cores this machine has). RSS is sampled once a second for
the app process and for the model server; "start" is after warm-up (index open, server
up, one query of each kind). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import SAMPLE_DOCS_DIR, load_settings  # noqa: E402
from lib.generation.chat_model import ChatModel  # noqa: E402
from lib.generation.local_server import LocalServer  # noqa: E402
from lib.generation.models import LOCAL_MODEL_ID, ModelSpec  # noqa: E402
from lib.generation.rag import RagSettings, ask  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.retrieval.search import hybrid_search, keyword_search, vector_search  # noqa: E402
from lib.samples import labelled_queries, sample_files  # noqa: E402
from lib.tuning import apply_tuned  # noqa: E402

LOCAL_BASE = ModelSpec("Local base", "local", LOCAL_MODEL_ID)
MAX_RSS_GROWTH_PCT = 10.0  # "memory stable": the app process grows less than this, start -> end
SEARCH_K = 5  # the Search lab's default top k


@dataclass
class Tally:
    """What the sessions recorded (appends from many threads: list.append is atomic)."""

    search_ms: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss: list[tuple[float, float, float]] = field(default_factory=list)  # (t, app MB, server MB)


def rss_mb(pid: int | None) -> float:
    """Resident memory of `pid` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def search_once(store: Store, query: str) -> float:
    """The Search lab page's work for one query; milliseconds."""
    started = time.perf_counter()
    vector_search(store, query, SEARCH_K)
    keyword_search(store, query, SEARCH_K)
    hybrid_search(store, query, SEARCH_K)
    return (time.perf_counter() - started) * 1000


def chat_once(store: Store, server: LocalServer, data_dir: Path, question: str) -> tuple[float, float]:
    """The Chat page's work for one question; (time to first token, whole answer) in s."""
    started = time.perf_counter()
    model = ChatModel(LOCAL_BASE, server=server, data_dir=data_dir)  # one per page run
    stream = ask(question, store, model, apply_tuned(data_dir, RagSettings()))
    first = None
    for delta in stream:
        if first is None and delta.strip():
            first = time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end - started


def session(stop: threading.Event, tally: Tally, work: Callable[[int], None],
            think_s: float, offset: int) -> None:
    """Repeat `work` until `stop`; every failure is one counted error, never a crash."""
    i = offset
    while not stop.is_set():
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001 (count it, keep the session going)
            tally.errors.append(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:200])
        i += 1
        stop.wait(think_s)


def sample_rss(stop: threading.Event, tally: Tally, server: LocalServer, t0: float) -> None:
    """Once a second: the app process's and the model server's RSS."""
    while not stop.wait(1.0):
        tally.rss.append((time.perf_counter() - t0, rss_mb(os.getpid()),
                          rss_mb(server.status().pid)))


def rss_at(tally: Tally, fraction: float) -> tuple[float, float]:
    """(app MB, server MB) of the sample nearest `fraction` of the run."""
    if not tally.rss:
        return 0.0, 0.0
    _, app, srv = tally.rss[min(len(tally.rss) - 1, int(fraction * len(tally.rss)))]
    return round(app, 1), round(srv, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--searchers", type=int, default=8)
    ap.add_argument("--chatters", type=int, default=2)
    ap.add_argument("--think", type=float, default=1.0, help="pause between searches (s)")
    ap.add_argument("--chat-think", type=float, default=2.0, help="pause between questions (s)")
    args = ap.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="raglab-load-")) / "data"
    settings = load_settings(env={"RAGLAB_DATA_DIR": str(data_dir)})
    store = Store(data_dir, get_embedder(settings))
    t = time.perf_counter()
    results = store.ingest(sample_files())
    print(f"indexed {sum(r.status == 'ingested' for r in results)} sample documents, "
          f"{store.n_chunks} chunks, in {time.perf_counter() - t:.1f} s", flush=True)
    server = LocalServer(data_dir, watch_parent=True)
    queries = [q.text for q in labelled_queries()]
    lines = (SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl").read_text().splitlines()
    questions = [json.loads(x)["question"] for x in lines if x.strip()]
    tally = Tally()

    def search_work(i: int) -> None:
        tally.search_ms.append(search_once(store, queries[i % len(queries)]))

    def chat_work(i: int) -> None:
        ttft, total = chat_once(store, server, data_dir, questions[i % len(questions)])
        tally.ttft_s.append(ttft)
        tally.answer_s.append(total)

    try:
        search_once(store, queries[0])  # warm-up: embedder, Chroma, BM25 loaded
        chat_once(store, server, data_dir, questions[0])  # starts the model server
        print(f"warm; model server pid {server.pid}; running {args.searchers} search + "
              f"{args.chatters} chat sessions for {args.seconds:.0f} s", flush=True)
        stop = threading.Event()
        t0 = time.perf_counter()
        tally.rss.append((0.0, rss_mb(os.getpid()), rss_mb(server.pid)))
        threads = [threading.Thread(target=sample_rss, args=(stop, tally, server, t0))]
        threads += [threading.Thread(target=session, args=(stop, tally, search_work,
                                                           args.think, n * 7))
                    for n in range(args.searchers)]
        threads += [threading.Thread(target=session, args=(stop, tally, chat_work,
                                                           args.chat_think, n * 5 + 1))
                    for n in range(args.chatters)]
        for th in threads:
            th.start()
        time.sleep(args.seconds)
        stop.set()
        for th in threads:
            th.join(timeout=180)  # an answer in flight finishes (it has its own deadline)
        elapsed = time.perf_counter() - t0
    finally:
        server.stop()
        store.close()

    start, middle, end = rss_at(tally, 0.0), rss_at(tally, 0.5), rss_at(tally, 1.0)
    growth = (end[0] - start[0]) / start[0] * 100 if start[0] else 0.0
    print(f"{len(tally.search_ms)} search-lab queries (vector + keyword + hybrid): "
          f"p50 {pct(tally.search_ms, 50):.0f} ms, p95 {pct(tally.search_ms, 95):.0f} ms")
    print(f"{len(tally.ttft_s)} chat answers: time to first token p50 {pct(tally.ttft_s, 50):.2f} s"
          f", p95 {pct(tally.ttft_s, 95):.2f} s; whole answer p50 {pct(tally.answer_s, 50):.1f} s")
    print(f"errors: {len(tally.errors)}" + (f" (first: {tally.errors[0]})" if tally.errors else ""))
    print(f"RSS app process MB start/middle/end: {start[0]} / {middle[0]} / {end[0]} "
          f"({growth:+.1f}%); model server: {start[1]} / {middle[1]} / {end[1]}")
    print(json.dumps({
        "bench": "load", "seconds": args.seconds, "elapsed_s": round(elapsed, 1),
        "search_sessions": args.searchers,
        "chat_sessions": args.chatters, "think_s": args.think, "chat_think_s": args.chat_think,
        "errors": len(tally.errors), "error_samples": tally.errors[:3],
        "searches": len(tally.search_ms),
        "search_ms_p50": round(pct(tally.search_ms, 50), 1),
        "search_ms_p95": round(pct(tally.search_ms, 95), 1),
        "answers": len(tally.ttft_s),
        "ttft_s_p50": round(pct(tally.ttft_s, 50), 2), "ttft_s_p95": round(pct(tally.ttft_s, 95), 2),
        "answer_s_p50": round(pct(tally.answer_s, 50), 2),
        "rss_mb_app": [start[0], middle[0], end[0]],
        "rss_mb_model_server": [start[1], middle[1], end[1]],
        "app_rss_growth_pct": round(growth, 1),
        "memory_stable": growth < MAX_RSS_GROWTH_PCT,
    }))


if __name__ == "__main__":
    main()
