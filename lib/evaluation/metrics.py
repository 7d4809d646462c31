"""Retrieval metrics as pure functions, computed the way trec_eval / BEIR compute them.

A *run* for one query is a ranked list of document ids (best first). *Judgments*
map document id -> graded relevance; a grade >= 1 is relevant, 0 (or absent) is not.
Documents that are not judged count as non-relevant, as in trec_eval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

Gain = Literal["exponential", "linear"]
# The project reports exponential gain (2^grade - 1, as BEIR and most IR libraries); "linear"
# (the grade itself) is trec_eval's. Equal on binary judgments; they differ on graded ones.
GAINS: tuple[Gain, ...] = ("exponential", "linear")

RELEVANT = 1  # trec_eval's default relevance level (-l 1): grade >= 1 counts as relevant


def rank_scores(scores: Mapping[str, float]) -> list[str]:
    """Document ids by score descending; ties broken by id descending, as trec_eval does.

    trec_eval ignores a run's rank column and re-sorts by (score desc, docno desc);
    using the same order keeps our figures identical to pytrec_eval's on tied scores.
    """
    by_id = sorted(scores, reverse=True)
    return sorted(by_id, key=lambda d: scores[d], reverse=True)  # stable: keeps id order


def _n_relevant(judgments: Mapping[str, int]) -> int:
    return sum(1 for g in judgments.values() if g >= RELEVANT)


def recall_at_k(ranked: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top k / all judged relevant documents (0.0 when none)."""
    total = _n_relevant(judgments)
    if total == 0:
        return 0.0
    hits = sum(1 for d in ranked[:k] if judgments.get(d, 0) >= RELEVANT)
    return hits / total


def precision_at_k(ranked: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top k / k (trec_eval's P_k: a short list is not rewarded)."""
    if k <= 0:
        return 0.0
    hits = sum(1 for d in ranked[:k] if judgments.get(d, 0) >= RELEVANT)
    return hits / k


def mrr_at_k(ranked: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant document within the top k, else 0.0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if judgments.get(doc, 0) >= RELEVANT:
            return 1.0 / rank
    return 0.0


def _gain(grade: int, gain: Gain) -> float:
    if grade <= 0:
        return 0.0
    # Exponential gain (2^rel - 1) rewards highly relevant documents more; on binary
    # judgments (SciFact, most BEIR sets) it equals trec_eval's default linear gain.
    return float(2**grade - 1) if gain == "exponential" else float(grade)


def _dcg(grades: Sequence[int], gain: Gain) -> float:
    # log2(rank + 1) discount with 1-based ranks, so the first document is undiscounted.
    return sum(_gain(g, gain) / math.log2(i + 2) for i, g in enumerate(grades))


def ndcg_at_k(
    ranked: Sequence[str], judgments: Mapping[str, int], k: int, gain: Gain = "exponential"
) -> float:
    """nDCG@k: DCG of the top k over the ideal DCG@k of *all* judged documents.

    The ideal ranking is built from every judged relevant document, retrieved or
    not (trec_eval's ndcg_cut, which BEIR reports), so missing one costs score.
    `gain="linear"` gives trec_eval's default gain for graded judgments.
    """
    ideal = sorted((g for g in judgments.values() if g > 0), reverse=True)[:k]
    ideal_dcg = _dcg(ideal, gain)
    if ideal_dcg == 0.0:
        return 0.0
    actual = [judgments.get(d, 0) for d in ranked[:k]]
    return _dcg(actual, gain) / ideal_dcg


def average_precision(ranked: Sequence[str], judgments: Mapping[str, int]) -> float:
    """AP over the whole ranked list: mean precision at each relevant hit, over all relevant.

    Relevant documents never retrieved contribute 0, as in trec_eval's `map`; the
    list's own length is the cut-off (the caller decides how deep to retrieve).
    """
    total = _n_relevant(judgments)
    if total == 0:
        return 0.0
    hits, summed = 0, 0.0
    for rank, doc in enumerate(ranked, start=1):
        if judgments.get(doc, 0) >= RELEVANT:
            hits += 1
            summed += hits / rank
    return summed / total


def query_metrics(
    ranked: Sequence[str], judgments: Mapping[str, int], k: int, gain: Gain = "exponential"
) -> dict[str, float]:
    """The report's metrics for one query, named with the cut-off (`ndcg@10`...)."""
    return {
        f"ndcg@{k}": ndcg_at_k(ranked, judgments, k, gain),
        f"recall@{k}": recall_at_k(ranked, judgments, k),
        f"mrr@{k}": mrr_at_k(ranked, judgments, k),
        f"precision@{k}": precision_at_k(ranked, judgments, k),
        "map": average_precision(ranked, judgments),
    }


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Arithmetic mean of each metric over queries (empty input -> empty dict)."""
    if not per_query:
        return {}
    names = list(per_query[0])
    return {n: sum(q[n] for q in per_query) / len(per_query) for n in names}


def is_judged(judgments: Mapping[str, int]) -> bool:
    """A query counts only when it has at least one relevant judgment."""
    return _n_relevant(judgments) > 0
