"""Known-answer tests for the retrieval metrics (values computed by hand in the comments)."""

from __future__ import annotations

import math

import pytest

from lib.evaluation.metrics import (
    average_precision,
    is_judged,
    mean_metrics,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    query_metrics,
    rank_scores,
    recall_at_k,
)

L2 = math.log2
RANKED = ["d1", "d2", "d3", "d4", "d5"]
BINARY = {"d2": 1, "d4": 1, "d9": 1}  # d9 is relevant but never retrieved


def test_recall_counts_unretrieved_relevant_in_the_denominator():
    assert recall_at_k(RANKED, BINARY, 1) == 0.0
    assert recall_at_k(RANKED, BINARY, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, BINARY, 5) == pytest.approx(2 / 3)


def test_precision_divides_by_k_even_when_the_list_is_shorter():
    assert precision_at_k(RANKED, BINARY, 2) == pytest.approx(1 / 2)
    assert precision_at_k(RANKED, BINARY, 4) == pytest.approx(2 / 4)
    # k > list length: trec_eval's P_10 of a 5-document run with 2 hits is 2/10
    assert precision_at_k(RANKED, BINARY, 10) == pytest.approx(2 / 10)


def test_mrr_is_the_first_relevant_rank_within_k():
    assert mrr_at_k(RANKED, BINARY, 10) == pytest.approx(1 / 2)
    assert mrr_at_k(RANKED, BINARY, 1) == 0.0
    assert mrr_at_k(["d4", "d2"], BINARY, 10) == 1.0


def test_ndcg_binary_uses_ideal_over_all_judged_relevant():
    # DCG@5 = 1/log2(3) + 1/log2(5); ideal has 3 relevant: 1 + 1/log2(3) + 1/log2(4)
    dcg = 1 / L2(3) + 1 / L2(5)
    ideal = 1 + 1 / L2(3) + 1 / L2(4)
    assert ndcg_at_k(RANKED, BINARY, 5) == pytest.approx(dcg / ideal)
    # @1: nothing relevant at rank 1 -> 0; ideal@1 = 1
    assert ndcg_at_k(RANKED, BINARY, 1) == 0.0


def test_ndcg_graded_exponential_and_linear_gain():
    judgments = {"a": 2, "b": 1, "c": 0, "x": 3}
    ranked = ["b", "c", "a"]
    # exponential gain 2^rel - 1: b=1, c=0, a=3; ideal x=7, a=3, b=1
    dcg = 1 + 0 / L2(3) + 3 / L2(4)
    ideal = 7 + 3 / L2(3) + 1 / L2(4)
    assert ndcg_at_k(ranked, judgments, 3) == pytest.approx(dcg / ideal)
    # linear gain (trec_eval's default): b=1, a=2; ideal x=3, a=2, b=1
    dcg_lin = 1 + 2 / L2(4)
    ideal_lin = 3 + 2 / L2(3) + 1 / L2(4)
    assert ndcg_at_k(ranked, judgments, 3, gain="linear") == pytest.approx(dcg_lin / ideal_lin)


def test_ndcg_perfect_ranking_is_one_and_k_beyond_list_is_fine():
    judgments = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b"], judgments, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], judgments, 10) < 1.0


def test_average_precision_over_all_relevant():
    # hits at ranks 2 and 4: (1/2 + 2/4) / 3 relevant
    assert average_precision(RANKED, BINARY) == pytest.approx((1 / 2 + 2 / 4) / 3)
    # judged but not relevant (grade 0) is ignored
    assert average_precision(["a", "b"], {"a": 0, "b": 1}) == pytest.approx(1 / 2)


@pytest.mark.parametrize("fn", [recall_at_k, mrr_at_k, ndcg_at_k, precision_at_k])
def test_no_relevant_documents_scores_zero(fn):
    assert fn(RANKED, {"d1": 0}, 5) == 0.0
    assert fn([], BINARY, 5) == 0.0
    assert not is_judged({"d1": 0}) and is_judged(BINARY)


def test_no_relevant_average_precision_is_zero():
    assert average_precision(RANKED, {}) == 0.0


def test_rank_scores_breaks_ties_like_trec_eval():
    # trec_eval: score desc, then doc id desc (string order)
    assert rank_scores({"a": 1.0, "c": 2.0, "b": 1.0, "d": 1.0}) == ["c", "d", "b", "a"]


def test_ties_change_metrics_only_through_the_tie_break():
    judgments = {"a": 1}
    ranked = rank_scores({"a": 0.5, "b": 0.5})  # b before a
    assert ranked == ["b", "a"]
    assert mrr_at_k(ranked, judgments, 10) == pytest.approx(1 / 2)
    assert ndcg_at_k(ranked, judgments, 10) == pytest.approx(1 / L2(3))


def test_query_metrics_names_use_k_and_mean_averages():
    first = query_metrics(RANKED, BINARY, 3)
    assert set(first) == {"ndcg@3", "recall@3", "mrr@3", "precision@3", "map"}
    second = query_metrics(["d4"], BINARY, 3)
    mean = mean_metrics([first, second])
    assert mean["mrr@3"] == pytest.approx((1 / 2 + 1) / 2)
    assert mean_metrics([]) == {}
