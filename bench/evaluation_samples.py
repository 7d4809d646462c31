"""The Evaluate page's figures on the bundled samples: paired tests, per-query diff, abstention.

    .venv/bin/python bench/evaluation_samples.py

Ingests the sample documents into a temporary data dir, evaluates the labelled queries
(keyword, vector, hybrid; app defaults), prints every method pair's paired test, the
per-query diff of hybrid against the better single method, and the abstention curve's
point at the app's threshold and at the best-accuracy one. The last line is one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.config import SAMPLE_DOCS_DIR, load_settings  # noqa: E402
from lib.evaluation.abstention import read_scoped, score_questions  # noqa: E402
from lib.evaluation.api import evaluate_store, sample_queries  # noqa: E402
from lib.evaluation.diff import Change, Side, counts, diff  # noqa: E402
from lib.evaluation.significance import all_pairs  # noqa: E402
from lib.generation.rag import DEFAULT_MIN_CONFIDENCE  # noqa: E402
from lib.index.store import Store  # noqa: E402
from lib.retrieval.embeddings import get_embedder  # noqa: E402
from lib.samples import sample_files  # noqa: E402


def main() -> None:
    embedder = get_embedder(load_settings(env={}))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data", embedder)
        store.ingest(sample_files())
        queries, qrels = sample_queries()
        report = evaluate_store(store, queries, qrels)
        questions = read_scoped((SAMPLE_DOCS_DIR / "eval" / "queries.jsonl").read_text())
        curve = score_questions(store, questions)
    tests = all_pairs(report.per_query_scores("ndcg"))
    for t in tests:
        print(t.sentence(3), "·", t.verdict)
    best = max(("keyword", "vector"), key=lambda m: report.methods[m].ndcg)
    rows = diff(Side.of(report, best), Side.of(report, "hybrid"))
    n = counts(rows)
    print(f"hybrid against {best}: {n[Change.IMPROVED]} improved, "
          f"{n[Change.REGRESSED]} regressed, {n[Change.SAME]} same")
    for r in rows[:5]:
        print(f"  {r.change.arrow} {r.delta:+.3f}  {r.text}")
    points = {"app": curve.at(DEFAULT_MIN_CONFIDENCE), "best": curve.at(curve.best())}
    for name, p in points.items():
        print(f"threshold {p.threshold:.3f} ({name}): answers {p.answered:.0%} in scope, "
              f"{p.false_answers:.0%} out of scope")
    print(json.dumps({
        "queries": report.n_queries,
        "ndcg@10": {m: round(v.ndcg, 4) for m, v in report.methods.items()},
        "pairs": [t.sentence(3) for t in tests],
        "hybrid_vs_best_single": {"against": best, **{c.value: v for c, v in n.items()}},
        "abstention": {name: {"threshold": round(p.threshold, 3), "in_scope_answered":
                              round(p.answered, 3), "out_of_scope_answered":
                              round(p.false_answers, 3)} for name, p in points.items()},
        "curve_points": len(curve.points),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
