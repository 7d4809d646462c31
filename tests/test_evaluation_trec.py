"""Our metrics against trec_eval itself (pytrec_eval): nDCG@k, recall@k, MRR@k, P@k, MAP to 1e-6.

Graded judgments (0-3), unjudged and judged-irrelevant documents in the runs, relevant
documents never retrieved, a query with no relevant hit, and tied scores. trec_eval uses the
grade itself as the gain (linear); exponential gain (2^grade - 1, the project default) is
checked by handing trec_eval the transformed grades, which keeps "grade >= 1 is relevant".
"""

from __future__ import annotations

import random

import pytest

from lib.evaluation.metrics import query_metrics, rank_scores

pytrec_eval = pytest.importorskip("pytrec_eval")

K = (1, 3, 5, 10)


def collection(seed: int = 11) -> tuple[dict, dict]:
    """A seeded random collection: 12 queries, graded qrels, scored runs with ties."""
    rng = random.Random(seed)
    docs = [f"d{i:02d}" for i in range(40)]
    qrels, runs = {}, {}
    for q in range(12):
        judged = rng.sample(docs, 12)
        qrels[f"q{q}"] = {d: rng.choice([0, 0, 1, 1, 2, 3]) for d in judged}
        retrieved = rng.sample(docs, rng.randint(3, 20))
        # coarse scores so that some tie: trec_eval breaks ties by docno, descending
        runs[f"q{q}"] = {d: float(rng.randint(1, 8)) for d in retrieved}
    qrels["q0"] = {**qrels["q0"], "d39": 3}  # likely unretrieved relevant doc
    runs["q1"] = {d: 1.0 for d in docs[:5] if qrels["q1"].get(d, 0) == 0}  # no relevant hit
    qrels = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    return qrels, runs


def reference(qrels: dict, runs: dict, k: int, exponential: bool) -> dict:
    """trec_eval's per-query figures at cut-off k (MRR@k from the run cut at k)."""
    gains = {q: {d: (2**g - 1 if exponential else g) for d, g in j.items()} for q, j in qrels.items()}
    ndcg = pytrec_eval.RelevanceEvaluator(gains, {f"ndcg_cut.{k}"}).evaluate(runs)
    plain = pytrec_eval.RelevanceEvaluator(qrels, {"map", f"recall.{k}", f"P.{k}"}).evaluate(runs)
    cut = {q: dict(sorted(r.items(), key=lambda x: (-x[1], [-ord(c) for c in x[0]]))[:k])
           for q, r in runs.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(
        {q: {d: s for d, s in r.items()} for q, r in cut.items()})
    return {q: {"ndcg": ndcg[q][f"ndcg_cut_{k}"], "map": plain[q]["map"],
                "recall": plain[q][f"recall_{k}"], "precision": plain[q][f"P_{k}"],
                "mrr": rr[q]["recip_rank"]} for q in qrels if q in runs}


@pytest.mark.parametrize("gain", ["linear", "exponential"])
@pytest.mark.parametrize("k", K)
def test_agrees_with_trec_eval(gain, k):
    qrels, runs = collection()
    ref = reference(qrels, runs, k, gain == "exponential")
    assert len(ref) >= 10
    for q, expected in ref.items():
        ours = query_metrics(rank_scores(runs[q]), qrels[q], k, gain)
        got = {"ndcg": ours[f"ndcg@{k}"], "map": ours["map"], "recall": ours[f"recall@{k}"],
               "precision": ours[f"precision@{k}"], "mrr": ours[f"mrr@{k}"]}
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, abs=1e-6), (q, name, k, gain)


def test_the_graded_case_really_depends_on_the_gain():
    qrels, runs = collection()
    lin = reference(qrels, runs, 10, exponential=False)
    exp = reference(qrels, runs, 10, exponential=True)
    assert any(abs(lin[q]["ndcg"] - exp[q]["ndcg"]) > 1e-3 for q in lin)


def test_several_seeds():
    for seed in range(5):
        qrels, runs = collection(seed)
        ref = reference(qrels, runs, 10, exponential=False)
        for q, expected in ref.items():
            ours = query_metrics(rank_scores(runs[q]), qrels[q], 10, "linear")
            assert ours["ndcg@10"] == pytest.approx(expected["ndcg"], abs=1e-6), (seed, q)
            assert ours["map"] == pytest.approx(expected["map"], abs=1e-6), (seed, q)
