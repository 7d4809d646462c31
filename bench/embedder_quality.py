"""Does the per-channel int8 MiniLM keep retrieval quality? SciFact vector nDCG@10 per variant.

    .venv/bin/python bench/embedder_quality.py [--dataset ../shared/datasets/scifact]
        [--variants int8-shipped:32,int8pc:1,int8pc-mha:1]

Embeds the whole SciFact corpus (title + " " + text, one vector per abstract, MiniLM's
256-token truncation, as MTEB does) with each variant, embeds each test query alone
(as the app does), ranks by cosine and scores nDCG@10. The first variant is the
reference (the shipped weight-only int8 file, 0.645 = MTEB's fp32 figure); a variant
passes when its nDCG@10 is within 0.005 of the reference. "variant:N" runs N texts per
onnxruntime call: dynamic quantisation takes one activation scale per call, so a text's
vector depends on its batch-mates unless N is 1. Also prints throughput (wall and
process-CPU based; the CPU figure is steadier on a noisy machine). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env before onnxruntime)
from lib.evaluation.beir import load_qrels  # noqa: E402
from lib.retrieval.embeddings import MiniLMEmbedder  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
TOLERANCE = 0.005


def load_scifact(folder: Path) -> tuple[list[str], list[str], dict[str, str], dict[str, set[str]]]:
    """Corpus ids and texts, test queries, and test qrels (query -> relevant doc ids)."""
    ids, texts = [], []
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ids.append(str(row["_id"]))
            texts.append(f"{row.get('title', '')} {row.get('text', '')}".strip())
    graded = load_qrels(folder / "qrels" / "test.tsv")
    qrels = {q: {d for d, g in docs.items() if g > 0} for q, docs in graded.items()}
    qrels = {q: docs for q, docs in qrels.items() if docs}
    queries = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if str(row["_id"]) in qrels:
            queries[str(row["_id"])] = row["text"]
    return ids, texts, queries, qrels


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    """Binary-relevance nDCG@10 (BEIR's ndcg_cut_10: ideal over all relevant docs)."""
    dcg = sum(1 / np.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / np.log2(i + 2) for i in range(min(len(relevant), 10)))
    return float(dcg / ideal) if ideal else 0.0


def evaluate(variant: str, batch: int, ids, texts, queries, qrels) -> dict:
    """Embed corpus + queries with one variant; nDCG@10 and throughput."""
    emb = MiniLMEmbedder(variant=variant, batch_size=batch)
    wall, cpu = time.perf_counter(), time.process_time()
    matrix = emb.embed(texts, progress=_progress(emb.name))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scores = []
    for qid, text in queries.items():
        sims = matrix @ emb.embed_query(text)
        top = np.argsort(-sims)[:10]
        scores.append(ndcg_at_10([ids[i] for i in top], qrels[qid]))
    return {
        "variant": f"{variant}:{batch}",
        "name": emb.name,
        "ndcg@10": round(float(np.mean(scores)), 4),
        "seconds": round(wall, 1),
        "texts_per_s": round(len(texts) / wall, 1),
        # CPU seconds / 2 threads: what the run would take on 2 idle cores.
        "texts_per_s_cpu": round(len(texts) / (cpu / 2), 1),
    }


def _progress(name: str):
    """A stderr progress line every ~10%."""
    state = {"next": 0.0}

    def report(done: int, total: int) -> None:
        if done / total >= state["next"]:
            print(f"  {name}: {done}/{total}", file=sys.stderr, flush=True)
            state["next"] += 0.1

    return report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    p.add_argument("--variants", default="int8-shipped:32,int8pc:1,int8pc-mha:1")
    p.add_argument("--limit", type=int, default=0, help="first N corpus docs only (smoke test)")
    args = p.parse_args()
    if not (args.dataset / "corpus.jsonl.gz").is_file():
        print(f"SciFact not found at {args.dataset}: skipped")
        print(json.dumps({"skipped": f"no dataset at {args.dataset}"}))
        return 0
    ids, texts, queries, qrels = load_scifact(args.dataset)
    if args.limit:
        ids, texts = ids[: args.limit], texts[: args.limit]
    print(f"SciFact: {len(texts)} documents, {len(queries)} test queries")
    rows = []
    for spec in args.variants.split(","):
        variant, _, batch = spec.partition(":")
        rows.append(evaluate(variant, int(batch or 32), ids, texts, queries, qrels))
        r = rows[-1]
        print(f"{r['variant']:>16}  nDCG@10 {r['ndcg@10']:.4f}  {r['seconds']:7.1f} s  "
              f"{r['texts_per_s']:5.1f} texts/s (cpu-based {r['texts_per_s_cpu']:5.1f})",
              flush=True)
    ref = rows[0]
    for r in rows:
        r["delta"] = round(r["ndcg@10"] - ref["ndcg@10"], 4)
        r["within_tolerance"] = abs(r["delta"]) <= TOLERANCE
        r["speedup_cpu"] = round(r["texts_per_s_cpu"] / ref["texts_per_s_cpu"], 2)
        verdict = "PASS" if r["within_tolerance"] else "FAIL"
        print(f"{r['variant']:>16}  delta {r['delta']:+.4f}  {verdict}  "
              f"speed x{r['speedup_cpu']} (cpu-based)")
    print(json.dumps({"dataset": "scifact", "documents": len(texts), "queries": len(queries),
                      "reference": ref["variant"], "tolerance": TOLERANCE, "variants": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
