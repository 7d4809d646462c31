"""A figure completed as its source writes it ("£2.00" -> "£2.00 per payment"), hand-made."""

from __future__ import annotations

import pytest

from lib.generation.grounding import check_grounding, mentions
from lib.generation.qualifiers import source_qualifier, with_qualifiers
from lib.types import Chunk, Hit

FEES = ("Receiving a SWIFT payment £2.00 per payment. Arranged overdraft 29.9% EAR variable. "
        "Representative rate 34.9% APR (variable). Plan fee £12.99 a month. Cash abroad free "
        "up to £200, then 2% of the amount. Late fee £12. Cheques by photo up to £5,000 each.")


def hit(n: int, text: str) -> Hit:
    return Hit(Chunk(f"d-{n:05d}", "d", f"doc{n}.md", None, None, 0, len(text), text),
               1.0 / n, n, "hybrid")


def complete(answer: str, *texts: str, cited: tuple[int, ...] = (1,)) -> str:
    sources = [hit(n, t) for n, t in enumerate(texts or (FEES,), 1)]
    return with_qualifiers(answer, check_grounding(answer, sources, cited), sources)


@pytest.mark.parametrize("answer, completed", [
    ("It costs £2.00. [1]", "It costs £2.00 per payment. [1]"),
    ("It is 29.9% interest [1].", "It is 29.9% EAR interest [1]."),
    ("You then pay 2% [1].", "You then pay 2% of the amount [1]."),
    ("The plan is £12.99 [1].", "The plan is £12.99 a month [1]."),
    ("Cheques up to £5,000 [1].", "Cheques up to £5,000 each [1]."),
])
def test_the_sources_qualifier_is_added(answer, completed):
    assert complete(answer) == completed


@pytest.mark.parametrize("answer", [
    "The plan is £12.99 per month [1].",  # said in other words
    "It is £2.00 for each payment [1].",
    "The late fee is £12 [1].",  # the source gives it no qualifier
    'The documentation says: "Receiving a SWIFT payment £2.00 per payment" [1]',
    "It costs £99.00 per payment [1].",  # unsupported: nothing to complete
    "No figures here [1].",
])
def test_nothing_is_added_when_said_absent_or_unsupported(answer):
    assert complete(answer) == answer


def test_only_cited_sources_qualify_and_disagreeing_ones_add_nothing():
    other = "Replacement card £2.00 per card."
    assert complete("It is £2.00 [2].", FEES, other, cited=(2,)) == "It is £2.00 per card [2]."
    assert complete("It is £2.00 [1] [2].", FEES, other, cited=(1, 2)) == "It is £2.00 [1] [2]."


def test_per_cent_is_part_of_the_rate_not_a_qualifier():
    (m,) = mentions("3 per cent")
    assert source_qualifier(m, ["The rate is 3 per cent a year."]) == "a year"


def test_given_the_question_disagreeing_sources_qualify_from_the_line_that_answers_it():
    sources = [hit(1, "Minimum repayment: the greater of £5 or 3% of the balance."),
               hit(2, "Replacement card (lost or stolen) £5 per card. Statement copy £5 per copy.")]
    answer = "A replacement card is £5 [1]."
    g = check_grounding(answer, sources, (1,))
    question = "How much does a replacement card cost if mine is stolen?"
    assert with_qualifiers(answer, g, sources, question) == "A replacement card is £5 per card [1]."
    assert with_qualifiers(answer, g, sources) == answer  # without it: the cited line's none
    asked_minimum = "What is the minimum repayment?"
    assert with_qualifiers(answer, g, sources, asked_minimum) == answer  # its line has none


def test_the_best_line_is_one_holding_the_amount_not_the_same_number():
    sources = [hit(1, "Minimum repayment: the greater of £5 or 3% of the balance."),
               hit(2, "Replacement card prices are in section 5 of the fee schedule. "
                      "Replacement card £5 per card.")]
    answer = "A replacement card is £5 [1]."
    g = check_grounding(answer, sources, (1,))
    question = "What replacement card prices does the fee schedule give?"
    assert with_qualifiers(answer, g, sources, question) == "A replacement card is £5 per card [1]."
