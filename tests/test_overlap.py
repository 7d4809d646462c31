"""Question-to-line word overlap: rare words weigh more; an excluding negation points away."""

from __future__ import annotations

import pytest

from lib.generation.overlap import excluded_words, idf_overlap

PAYMENTS = "For complaints about payment services we will send our final response within 15 days."
OTHER = "For all other complaints we will send our final response within 8 weeks."


@pytest.mark.parametrize("question, excluded", [
    ("Which margin applies to currencies that are not major currencies?", {"major"}),
    ("How long for a complaint that is not about a payment service?", {"payment", "service"}),
    ("Which fee applies to currencies other than euros?", {"euros"}),
    ("What if I don't pay my card bill on time?", set()),  # a situation, not an exclusion
    ("What is the late payment fee?", set()),
])
def test_excluded_words(question, excluded):
    assert excluded_words(question) == excluded


def test_a_line_about_what_the_question_excludes_scores_lower():
    q = "How long can you take to send a final response to a complaint that is not about a payment service?"
    payments, other = idf_overlap(q, [PAYMENTS, OTHER])
    assert other > payments
    plain = "How long can you take to send a final response to a complaint about a payment service?"
    payments, other = idf_overlap(plain, [PAYMENTS, OTHER])
    assert payments > other


def test_a_determiner_is_no_match():
    # "without any transactions" vs "download statements at any time": "any" says nothing
    from lib.generation.overlap import content_words

    assert content_words("without any transactions") == {"without", "transactions"}
