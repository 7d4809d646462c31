"""Local LLM speed: time to first token and generation tokens/s for a 4-chunk RAG prompt.

    .venv/bin/python bench/llm.py          # base (+ fine_tuned if adapters/orbit-style.gguf exists)
    .venv/bin/python bench/llm.py --sweep      # also measure server settings and prompt ideas
    .venv/bin/python bench/llm.py --context    # base: whole chunks vs the selected sentences

Each run asks a *different* sample question with its own 4 chunks (BM25 top-4 over the
sample documents, default chunk settings), so the question part is cold; only the fixed
system message can come from llama.cpp's prompt cache, as in the app. The prompt is the
app's own (lib.generation.rag). TTFT is measured by the client (first streamed token), generation
speed from the server's own timings. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lib  # noqa: E402,F401  (offline env first)
from lib.ingest.chunking import split_document  # noqa: E402
from lib.config import SAMPLE_DOCS_DIR  # noqa: E402
from lib.ingest.documents import parse_document  # noqa: E402
from lib.retrieval.keyword import KeywordIndex  # noqa: E402
from lib.generation.local_server import LocalServer, ServerTuning  # noqa: E402
from lib.generation.models import LOCAL_MODEL_ID, SHIPPED_ADAPTER, ModelSpec, make_client  # noqa: E402
from lib.generation.rag import ANSWER_PREFIX, build_messages  # noqa: E402
from lib.samples import sample_files  # noqa: E402
from lib.types import ChunkSettings, Hit  # noqa: E402

K = 4
GEN_TOKENS = 64


def questions() -> list[str]:
    """Distinct sample questions: the grounded ones, then the in-scope labelled queries."""
    eval_dir = SAMPLE_DOCS_DIR / "eval"
    grounded = [json.loads(x)["question"] for x in
                (eval_dir / "grounded_questions.jsonl").read_text().splitlines() if x.strip()]
    lines = (eval_dir / "queries.jsonl").read_text().splitlines()
    labelled = [json.loads(x) for x in lines if x.strip()]
    return grounded + [q["text"] for q in labelled if q["type"] != "out_of_scope"]


def build_prompts(chunk_size: int = 128) -> list[list[dict[str, str]]]:
    """One RAG prompt per question: BM25 top-4 chunks of the sample documents."""
    chunks = [c for name, data in sample_files()
              for c in split_document(parse_document(name, data), ChunkSettings(size=chunk_size))]
    by_id = {c.id: c for c in chunks}
    index = KeywordIndex()
    index.add([c.id for c in chunks], [c.text for c in chunks])
    prompts = []
    for q in questions():
        hits = [Hit(by_id[i], s, r, "keyword") for r, (i, s) in enumerate(index.search(q, K), 1)]
        if len(hits) == K:
            prompts.append(build_messages(q, hits))
    return prompts


def build_sentence_prompts() -> tuple[list[list[dict[str, str]]], list[float]]:
    """The same questions with the app's sentence selection over BM25 top-k (k = the app's, 8).

    Returns the prompts and each selection's time (ms: embedding the candidate units),
    which the app spends before the model call and the user waits for.
    """
    from lib.config import load_settings
    from lib.generation.context import score_units, select, units_of
    from lib.generation.rag import RagSettings
    from lib.retrieval.embeddings import get_embedder

    embedder = get_embedder(load_settings(env={}))
    chunks = [c for name, data in sample_files()
              for c in split_document(parse_document(name, data), ChunkSettings())]
    by_id = {c.id: c for c in chunks}
    index = KeywordIndex()
    index.add([c.id for c in chunks], [c.text for c in chunks])
    prompts, select_ms = [], []
    for q in questions():
        found = index.search(q, RagSettings().k)
        hits = [Hit(by_id[i], s, r, "keyword") for r, (i, s) in enumerate(found, 1)]
        if len(hits) < K:
            continue
        started = time.perf_counter()
        scored = score_units(q, units_of(hits), embedder.embed_query(q), embedder.embed,
                             ranks=list(range(len(hits))))
        excerpts = select(scored, hits)
        select_ms.append((time.perf_counter() - started) * 1000)
        prompts.append(build_messages(q, hits, [(e.units[0].hit_index + 1, e.text)
                                                for e in excerpts]))
    return prompts, select_ms


def compare_context(prompts: list, runs: int, data_dir: Path) -> dict:
    """Base model, whole chunks vs selected sentences, interleaved, one server each."""
    sentence_prompts, select_ms = build_sentence_prompts()
    servers = {name: LocalServer(data_dir / f"ctx_{name}", watch_parent=True)
               for name in ("chunks", "sentences")}
    try:
        for server in servers.values():
            server.ensure()
        variants = {"chunks": {"server": servers["chunks"], "prompts": prompts},
                    "sentences": {"server": servers["sentences"], "prompts": sentence_prompts}}
        out = interleaved(variants, runs)
        out["sentences"]["select_ms_p50"] = statistics.median(select_ms[1:runs + 1])
        return out
    finally:
        for server in servers.values():
            server.stop()


def one_request(server: LocalServer, messages: list[dict[str, str]], adapter: str | None = None,
                cache: bool = True, prefix: str = ANSWER_PREFIX) -> dict:
    """One streamed answer: client TTFT, server generation speed, prompt tokens."""
    client = make_client(ModelSpec("bench", "local", LOCAL_MODEL_ID), base_url=server.base_url,
                         timeout=600)
    extra = server.request_options(adapter, 1.0)
    extra["cache_prompt"] = extra["cache_prompt"] and cache
    msgs = [*messages, {"role": "assistant", "content": prefix}] if prefix else messages
    started = time.perf_counter()
    first, timings, usage = None, {}, None
    stream = client.chat.completions.create(
        model=LOCAL_MODEL_ID, messages=msgs, stream=True,  # type: ignore[arg-type]
        max_tokens=GEN_TOKENS,
        temperature=0.0, stream_options={"include_usage": True}, extra_body=extra)
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
        timings = (chunk.model_extra or {}).get("timings") or timings
        usage = chunk.usage or usage
    return {"ttft": first or 0.0, "gen": float(timings.get("predicted_per_second", 0.0)),
            "prompt": int(usage.prompt_tokens if usage else timings.get("prompt_n", 0)),
            "cached": int(timings.get("cache_n", 0))}


def summarise(rows: list[dict]) -> dict:
    return {"ttft_s_p50": statistics.median(r["ttft"] for r in rows),
            "gen_tok_s": statistics.median(r["gen"] for r in rows),
            "prompt_tokens": int(statistics.median(r["prompt"] for r in rows))}


def interleaved(variants: dict[str, dict], runs: int) -> dict[str, dict]:
    """Round-robin the variants over the same questions: a noisy machine hits all alike.

    Each variant: {"server", "prompts", "adapter", "cache", "prefix"}. The first
    question of each variant is a warm-up (page cache, system-prefix cache) and not counted.
    """
    rows: dict[str, list[dict]] = {name: [] for name in variants}
    for i in range(runs + 1):
        for name, v in variants.items():
            r = one_request(v["server"], v["prompts"][i], v.get("adapter"), v.get("cache", True),
                            v.get("prefix", ANSWER_PREFIX))
            if i:
                rows[name].append(r)
                print(f"  {name:>16} q{i}: ttft {r['ttft']:.2f} s, prompt {r['prompt']} tok "
                      f"(cached {r['cached']}), gen {r['gen']:.0f} tok/s", flush=True)
    return {name: summarise(r) for name, r in rows.items()}


def run_models(prompts: list, runs: int, data_dir: Path) -> dict:
    """base and (when shipped) fine_tuned, interleaved, each on its own server.

    Both servers load the adapter, as the app does. One server per model keeps each
    model's system-prefix cache (on one server, every model switch drops the KV cache).
    """
    adapter = str(SHIPPED_ADAPTER) if SHIPPED_ADAPTER.is_file() else None
    names = ["base", "fine_tuned"] if adapter else ["base"]
    servers = {name: LocalServer(data_dir / name, watch_parent=True) for name in names}
    try:
        variants = {}
        for name, server in servers.items():
            server.ensure([adapter] if adapter else [])
            variants[name] = {"server": server, "prompts": prompts}
        if adapter:  # no answer prefill: the tuned model opens with its own greeting
            variants["fine_tuned"].update(adapter=adapter, prefix="")
        return interleaved(variants, runs)
    finally:
        for server in servers.values():
            server.stop()


SWEEP = {  # name: (tuning, prefix cache on, chunk size)
    "default": (ServerTuning(), True, 128),
    "no prefix cache": (ServerTuning(), False, 128),
    # threads a/b: a = generation threads, b = prompt-processing threads (default 1/2)
    "threads 2/2": (replace(ServerTuning(), threads=2, batch_threads=2), True, 128),
    "threads 1/1": (replace(ServerTuning(), threads=1, batch_threads=1), True, 128),
    "poll 0": (replace(ServerTuning(), poll=0), True, 128),
    "flash attn off": (replace(ServerTuning(), flash_attn=0), True, 128),
    "flash attn on": (replace(ServerTuning(), flash_attn=1), True, 128),
    "ubatch 256": (replace(ServerTuning(), n_ubatch=256), True, 128),
    "ubatch 128": (replace(ServerTuning(), n_ubatch=128), True, 128),
    "chunks 96": (ServerTuning(), True, 96),
}


def sweep(prompts: list, runs: int, data_dir: Path, names: list[str]) -> dict:
    """Ideas, each on its own server, measured interleaved on the same questions."""
    variants: dict[str, dict] = {}
    try:
        for name in names:
            tuning, cache, size = SWEEP[name]
            server = LocalServer(data_dir / name.replace(" ", "_").replace("/", "-"),
                                 watch_parent=True, tuning=tuning)
            server.ensure()
            variants[name] = {"server": server, "cache": cache,
                              "prompts": prompts if size == 128 else build_prompts(size)}
        return interleaved(variants, runs)
    finally:
        for v in variants.values():
            v["server"].stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sweep", nargs="*", default=None, metavar="NAME",
                    help=f"also measure ideas (none given = all): {', '.join(SWEEP)}")
    ap.add_argument("--context", action="store_true",
                    help="base model only: whole chunks vs the selected sentences")
    args = ap.parse_args()
    prompts = build_prompts()
    if args.context:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = compare_context(prompts, args.runs, Path(tmp))
        for name, r in ctx.items():
            print(f"{name}: {r}", flush=True)
        print(json.dumps({"context": {k: {m: round(x, 3) for m, x in v.items()}
                                      for k, v in ctx.items()}}))
        return
    print(f"{len(prompts)} distinct 4-chunk prompts", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = run_models(prompts, args.runs, Path(tmp))
        for name, r in results.items():
            print(f"{name}: {r}", flush=True)
        swept = None
        if args.sweep is not None:
            swept = sweep(prompts, args.runs, Path(tmp), args.sweep or list(SWEEP))
            for name, r in swept.items():
                print(f"{name}: {r}", flush=True)
    summary = {
        "ttft_s_p50": {k: round(v["ttft_s_p50"], 3) for k, v in results.items()},
        "gen_tok_s": {k: round(v["gen_tok_s"], 1) for k, v in results.items()},
        "prompt_tokens": results["base"]["prompt_tokens"],
    }
    if swept:
        summary["sweep_ttft_s_p50"] = {k: round(v["ttft_s_p50"], 3) for k, v in swept.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
