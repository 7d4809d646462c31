"""The wrong-line check: a figure that is in the sources but on a line answering something else."""

from __future__ import annotations

import pytest

from lib.generation.grounding import check_grounding
from lib.generation.lines import check_lines
from lib.types import Chunk, Hit

API = ("## 2026-02-10: Open Banking API v2.3.1\n"
       "Rate limits: raised from 60 to 120 requests per minute per access token for account "
       "information endpoints. Payment initiation endpoints remain at 30 requests per minute "
       "per access token.")
CODES = ("All personal accounts use the sort code 04-62-18 and business accounts use the sort "
         "code 04-62-19. Our SWIFT/BIC code is ORBTGB2L.")
FEES = ("## Orbit Metal fees\n| Fee | Amount |\n|---|---|\n"
        "| Monthly plan fee | £12.99 (previously £14.99 until 28 February 2026) |\n"
        "| Replacement card, lost or stolen | £40 per card |\n")


def hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"d-{i:05d}", "d", f"doc{i}.md", None, None, 0, len(t), t),
                1.0 - i / 10, i + 1, "hybrid") for i, t in enumerate(texts)]


def judged(question: str, answer: str, *texts: str):
    sources = hits(*texts)
    return check_lines(question, answer, check_grounding(answer, sources, [1]), sources)


def test_the_figure_of_another_row_is_flagged_with_what_the_right_row_says():
    g = judged("How many requests per minute do payment initiation endpoints allow?",
               "The limit is 120 requests per minute [1].", API)
    assert not g.passed
    (fig,) = [f for f in g.figures if f.text == "120"]
    assert fig.supported and "30" in fig.better and "[1]" in fig.better


def test_the_right_row_passes():
    g = judged("What is the rate limit for payment initiation endpoints in API v2.3.1?",
               "Payment initiation endpoints allow 30 requests per minute [1].", API)
    assert g.passed, g


@pytest.mark.parametrize("question, answer, source, better", [
    # two values in one sentence are told apart
    ("What is Orbit Bank's SWIFT/BIC code?", "The SWIFT/BIC code is 04-62-19 [1].", CODES,
     "ORBTGB2L"),
    ("Which sort code do business accounts use?", "Business accounts use 04-62-19 [1].", CODES,
     None),
    # a table row keeps its label
    ("What does a replacement for a lost Orbit Metal card cost?", "It costs £12.99 [1].", FEES,
     "£40"),
    ("What is the monthly plan fee for Orbit Metal?", "It is £12.99 a month [1].", FEES, None),
    # an old value given as current is flagged, but not when the answer calls it old
    ("What is the monthly plan fee for Orbit Metal?", "It is £14.99 a month [1].", FEES,
     "old value"),
    ("What is the monthly plan fee for Orbit Metal?",
     "It is £12.99 a month (previously £14.99) [1].", FEES, None),
])
def test_the_line_of_each_figure_is_judged(question, answer, source, better):
    g = judged(question, answer, source)
    if better is None:
        assert g.passed, g
    else:
        assert not g.passed and better in g.figures[0].better, g


def test_a_question_in_other_words_is_not_second_guessed():
    # No line shares the question's words: nothing to prefer over the answer's line.
    g = judged("How many people can I add to help run my firm's banking?",
               "Up to 5 people [1].", "Team members: up to 5 including the owner. "
               "Bulk payments: up to 500 payments per CSV file.")
    assert g.passed, g


def test_unsupported_figures_are_left_to_the_grounding_check():
    g = judged("What is the monthly plan fee?", "It is £13 [1].", FEES)
    assert [f.text for f in g.flagged] == ["£13"] and not g.figures[0].better


SAVER = ("Product Rate Gross rate Interest paid\n"
         "OB-2204 Orbit Saver 3.85% AER variable (previously 4.10% AER until 31 January 2026) "
         "3.78% Monthly, on the first business day")


def test_a_rate_called_aer_must_be_the_sources_aer():
    history = "2025-09-01: The Orbit Saver (OB-2204) variable interest rate changed to 4.10% AER."
    wrong = judged("What interest rate does Orbit Saver pay?", "It pays 3.78% AER [1].", SAVER,
                   history)
    assert not wrong.passed and "3.85%" in wrong.figures[0].better  # the row's own AER
    assert judged("What interest rate does Orbit Saver pay?", "It pays 3.85% AER [1].",
                  SAVER).passed
    assert judged("What is the gross rate of Orbit Saver?", "The gross rate is 3.78% [1].",
                  SAVER).passed


# ---- an answer to a "how much" question that gives no figure

def test_a_how_much_answer_without_a_figure_fails_when_a_source_holds_one():
    g = judged("What does a replacement for a lost Orbit Metal card cost?",
               "You can order a replacement card in the app [1].", FEES)
    assert not g.passed and g.missing and not g.figures


@pytest.mark.parametrize("question, answer, texts", [
    # the answer gives a figure: the line check judges it instead
    ("What does a replacement for a lost Orbit Metal card cost?", "It costs £40 [1].", [FEES]),
    # not a figure question ("pay" alone is not one)
    ("How do I pay in a cheque?", "Use the app's camera to pay in a cheque [1].", [FEES]),
    # the answer says the sources are silent: a fair answer, not a missing figure
    ("How much is a banker's draft?", "The documentation does not say [1].", [FEES]),
    # no source holds a figure of the kind asked
    ("What rate does the Metal card charge?", "The documents list its fees [1].",
     ["Orbit Metal is a premium debit card made of steel."]),
])
def test_no_missing_figure_is_claimed_where_none_is_wanted_or_there(question, answer, texts):
    g = judged(question, answer, *texts)
    assert not g.missing, g


def test_a_figure_the_question_names_is_not_an_answer():
    saver = "Orbit Fixed Saver 12M: early access costs 90 days' interest on the amount withdrawn."
    g = judged("What does it cost to leave a 12 month Fixed Saver early?",
               "A Fixed Saver runs for 12 months [1].", saver)
    assert g.missing


def test_a_clause_number_given_as_a_value_is_flagged():
    terms = ("10. Complaints\n10.1 Tell us in the app.\n"
             "10.2 We send our final response within 15 business days.")
    g = judged("How many days do you take to answer a complaint?",
               "The answer is 10.2 days [1].", terms)
    assert not g.passed and "clause" in g.figures[0].better
    assert judged("How many days do you take to answer a complaint?",
                  "Within 15 business days [1].", terms).passed


def test_a_count_in_words_answers_how_many():
    team = "An Orbit Business account can have up to five team members."
    assert not judged("How many team members can a business account have?",
                      "Up to five team members [1].", team, "Fees: £9 a month.").missing


@pytest.mark.parametrize("answer", ["You pay the same as for a regular one [1].",
                                    "You can pay it off in one go [1]."])
def test_one_that_counts_nothing_is_no_figure(answer):
    assert judged("What does a replacement for a lost Orbit Metal card cost?", answer,
                  FEES).missing


def test_a_line_about_another_version_is_not_the_answer():
    changelog = ("## 2026-02-10: Open Banking API v2.3.1\nRate limits: raised to 120 requests per "
                 "minute per access token for account information endpoints.\n\n"
                 "## 2025-08-04: Open Banking API v2.3.0\nRate limit of 60 requests per minute "
                 "per access token for account information endpoints.")
    question = "What is the Open Banking API v2.3.1 rate limit for account information endpoints?"
    g = judged(question, "It is 60 requests per minute [1].", changelog)
    assert not g.passed and "120" in g.figures[0].better
    assert judged(question, "It is 120 requests per minute [1].", changelog).passed


def test_a_count_in_words_is_a_rival_line():
    # "five business days" is a figure to the line check, so the clause that answers
    # "normally" beats the one about needing more information
    terms = ("We will normally reimburse within five business days of your claim, and may take "
             "up to 35 business days where we need more information about the payment.")
    g = judged("How quickly do you normally reimburse a claim?",
               "You reimburse within 35 business days [1].", terms)
    assert not g.passed and "five" in g.figures[0].better, g
    assert judged("How quickly do you normally reimburse a claim?",
                  "Within five business days [1].", terms).passed


def test_a_clause_without_a_figure_opening_a_sentence_joins_the_next():
    # "For complaints about payment services, such as card payments | and transfers, ... 15"
    # is one line: the words before "and" say what the 15 days are for
    terms = ("For complaints about payment services, such as card payments and transfers, we "
             "reply within 15 business days. For all other complaints we reply within 8 weeks.")
    g = judged("How long do you take to reply to complaints about card payments?",
               "Within 8 weeks [1].", terms)
    assert not g.passed and "15" in g.figures[0].better, g


def test_page_furniture_is_no_line():
    from lib.generation.lines import lines_of
    lines, _ = lines_of(hits("Orbit Bank Fee and Pricing Schedule - Page 1 of 4\nFee £5 per card."))
    assert [ln.text for ln in lines] == ["Fee £5 per card."]


@pytest.mark.parametrize("question, answer, source", [
    ("By what time on a business day must I instruct a CHAPS payment?",
     "You must instruct it on a business day [1].",
     "Payments by CHAPS must be instructed before 15:00 on a business day."),
    ("Someone texted me pretending to be you. What number can I forward it to?",
     "Please contact us in the app [1].", "Forward suspicious text messages to 7726."),
])
def test_a_what_time_or_what_number_answer_without_one_fails(question, answer, source):
    assert judged(question, answer, source).missing
    assert not judged(question, "Before 15:00 [1]." if "time" in question else "To 7726 [1].",
                      source).missing


def test_a_count_in_words_gives_the_figure_a_how_many_question_asks_for():
    from lib.generation.lines import gives_figure
    line = "You can hold up to five Fixed Savers at the same time."
    assert gives_figure("How many Fixed Saver accounts can I hold?", line)
    assert not gives_figure("How much does a Fixed Saver cost?", line)  # a count is no fee
    assert not gives_figure("How many can I hold?", "You can open one in the app.")


def test_the_most_or_the_least_asks_for_a_figure():
    claims = "We will reimburse you up to £85,000 per claim."
    question = "What is the most Orbit Bank will reimburse on one claim?"
    assert judged(question, "The most Orbit Bank will reimburse on one claim [1].", claims).missing
    assert not judged(question, "Up to £85,000 per claim [1].", claims).missing
