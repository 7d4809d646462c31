"""SciFact study behind the evaluation's defaults: granularity per retriever x fusion, train vs test.

    .venv/bin/python bench/scifact_study.py [--dataset ../shared/datasets/scifact]

Scores every document for every query once (from the embedding cache that bench/scifact.py or
`python -m lib.evaluation` filled), then compares, by nDCG@10 on the train split (809 queries,
for choosing) and the test split (300 queries, for reporting):
  granularity: whole documents (title + text) vs the best 128-token chunk (title prepended);
  fusion: lib.retrieval.fusion.fuse on each retriever's top 50 documents (RRF k=60, min-max and z-score
  at alpha 0.5: a document missing from one list gets that list's lowest score), and
  "exact union" z-score: every candidate of either list gets its real score from both
  retrievers before normalising (needs an index that can score given ids).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import load_settings  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.evaluation.beir import load_beir  # noqa: E402
from lib.evaluation.cache import CachedEmbedder, cache_root  # noqa: E402
from lib.evaluation.corpus import document_chunks  # noqa: E402
from lib.evaluation.metrics import ndcg_at_k  # noqa: E402
from lib.retrieval.fusion import FusionSettings, fuse  # noqa: E402
from lib.retrieval.keyword import KeywordIndex  # noqa: E402
from lib.types import ChunkSettings  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "scifact"
DEPTH = 50
FUSIONS = {
    "rrf60": FusionSettings(),
    "minmax a=.5": FusionSettings(mode="weighted", alpha=0.5, normalization="minmax"),
    "zscore a=.5": FusionSettings(mode="weighted", alpha=0.5, normalization="zscore"),
}


def score_tables(folder: Path) -> tuple[dict, list[str], dict, dict]:
    """Per query, four full score vectors over the documents: vd, vc, kd, kc."""
    train, test = load_beir(folder, "train"), load_beir(folder, "test")
    settings = load_settings()
    emb = CachedEmbedder(get_embedder(settings), cache_root(settings.data_dir))
    whole = document_chunks(train.corpus.values(), None)
    parts = document_chunks(train.corpus.values(), ChunkSettings(128, 16))
    ids = [c.doc_id for c in whole]
    position = {d: i for i, d in enumerate(ids)}
    owner = np.array([position[c.doc_id] for c in parts])
    vd_m, vc_m = emb.embed([c.text for c in whole]), emb.embed([c.text for c in parts])
    kd_i, kc_i = KeywordIndex(), KeywordIndex()
    kd_i.add(ids, [c.text for c in whole])
    kc_i.add([c.id for c in parts], [c.text for c in parts])
    qids = {"train": train.judged_query_ids(), "test": test.judged_query_ids()}
    every = qids["train"] + qids["test"]
    qv = dict(zip(every, emb.embed_queries([train.queries[q] for q in every])))
    tables = {}
    for q in every:
        text = train.queries[q]
        vc = np.full(len(ids), -1.0)
        np.maximum.at(vc, owner, vc_m @ qv[q])
        kc_scores = kc_i.scores(text)
        kc = np.zeros(len(ids))
        np.maximum.at(kc, owner, np.array([kc_scores[c.id] for c in parts]))
        kd_scores = kd_i.scores(text)
        tables[q] = {
            "vd": vd_m @ qv[q],
            "vc": vc,
            "kd": np.array([kd_scores[d] for d in ids]),
            "kc": kc,
        }
    return tables, ids, qids, {"train": train.qrels, "test": test.qrels}


def top(scores: np.ndarray, n: int) -> np.ndarray:
    part = np.argpartition(-scores, n)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def ranked_list(scores: np.ndarray, ids: list[str], keep_zero: bool) -> list[tuple[str, float]]:
    order = top(scores, DEPTH)
    return [(ids[i], float(scores[i])) for i in order if keep_zero or scores[i] > 0]


def exact_union(v: np.ndarray, k: np.ndarray, alpha: float) -> np.ndarray:
    cand = np.union1d(top(v, DEPTH), top(k, DEPTH))
    z = lambda x: (x - x.mean()) / (x.std() or 1.0)  # noqa: E731
    fused = alpha * z(v[cand]) + (1 - alpha) * z(k[cand])
    return cand[np.argsort(-fused, kind="stable")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    if not (args.dataset / "queries.jsonl").is_file():
        print(json.dumps({"skipped": "scifact dataset not found"}))
        return
    tables, ids, qids, qrels = score_tables(args.dataset)

    def ndcg(split: str, rank) -> float:
        return round(
            float(np.mean([ndcg_at_k(rank(q), qrels[split][q], 10) for q in qids[split]])), 4
        )

    variants = {}
    for name in ("vd", "vc", "kd", "kc"):
        variants[f"single {name}"] = lambda q, n=name: [ids[i] for i in top(tables[q][n], 10)]
    for v, k in (("vd", "kd"), ("vc", "kc"), ("vc", "kd")):
        for fname, fusion in FUSIONS.items():
            variants[f"{v}+{k} {fname}"] = lambda q, v=v, k=k, f=fusion: [
                d
                for d, _ in fuse(
                    ranked_list(tables[q][v], ids, True), ranked_list(tables[q][k], ids, False), f
                )
            ]
        variants[f"{v}+{k} exact-union zscore a=.5"] = lambda q, v=v, k=k: [
            ids[i] for i in exact_union(tables[q][v], tables[q][k], 0.5)
        ]
    out = {}
    print(f"{'variant (vd/vc: vector whole/best chunk; kd/kc: BM25)':<48} {'train':>7} {'test':>7}")
    for name, rank in variants.items():
        out[name] = {"train": ndcg("train", rank), "test": ndcg("test", rank)}
        print(f"{name:<48} {out[name]['train']:>7.4f} {out[name]['test']:>7.4f}", flush=True)
    print(json.dumps({"dataset": "scifact", "metric": "ndcg@10", "variants": out}))


if __name__ == "__main__":
    main()
