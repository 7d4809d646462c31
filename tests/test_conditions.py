"""A "yes" past a limit the source sets on the question's own age or amount fails the check."""

from __future__ import annotations

import pytest

from lib.generation.conditions import broken_condition, condition_reason, question_values
from lib.types import Chunk, Hit

METAL = ("## Orbit Metal benefits\n"
         "- Worldwide travel insurance for the cardholder, for trips of up to 31 days, for "
         "cardholders aged 70 or under.\n"
         "- Four airport lounge visits a year.\n")
LIMITS = "## Post Office\nCash deposits at the Post Office: free, up to £1,000 per day.\n"
TERMS = ("2.1 To open an Orbit Everyday account you must be at least 18 years old and "
         "resident in the United Kingdom.\n")


def hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"d-{i:05d}", "d", f"doc{i}.md", None, None, 0, len(t), t),
                1.0 - i / 10, i + 1, "hybrid") for i, t in enumerate(texts)]


def test_the_questions_own_age_and_amount_are_read():
    assert question_values("I'm 72 and thinking about Orbit Metal.")["age"][0] == 72
    assert question_values("My son is a 16-year-old: can he open one?")["age"][0] == 16
    assert question_values("Can I pay in £2,000 today?")["money"] == (2000.0, "£2,000")
    assert question_values("What happens at 10am? Is a 24-hour wait normal?") == {}


@pytest.mark.parametrize(("question", "sources", "value"), [
    ("I'm 72. Would the Orbit Metal travel insurance cover me?", (METAL,), "72"),
    ("I am 17. Can I open an Orbit Everyday account?", (TERMS,), "17"),
    ("Can I pay £2,000 in cash at the Post Office in one day?", (LIMITS, METAL), "£2,000"),
])
def test_a_yes_past_the_limit_is_caught_with_the_line_that_sets_it(question, sources, value):
    broken = broken_condition(question, "Yes, you can. [1]", hits(*sources))
    assert broken is not None and broken.value == value and broken.line.source == 1
    assert value in condition_reason(broken) and "[1]" in condition_reason(broken)


@pytest.mark.parametrize(("question", "answer"), [
    ("I'm 65. Would the Orbit Metal travel insurance cover me?", "Yes, it covers you. [1]"),
    ("I'm 72. Would the Orbit Metal travel insurance cover me?",  # a "no" is not judged
     "No, it covers cardholders aged 70 or under. [1]"),
    ("I'm 72. Would the Orbit Metal travel insurance cover me?",  # the rule with a "but"
     "Yes, but only for cardholders aged 70 or under. [1]"),
    ("I'm 72. How long a trip does the Orbit Metal travel insurance cover?",  # not yes/no
     "Yes: trips of up to 31 days. [1]"),
])
def test_an_answer_the_limit_allows_or_does_not_affirm_passes(question, answer):
    assert broken_condition(question, answer, hits(METAL)) is None


def test_a_limit_on_a_line_about_something_else_is_not_applied():
    # the question's amount is about the lounge, the only money limit is the Post Office's
    question = "I spent £2,000 on my Orbit Metal card. Do I get airport lounge visits?"
    assert broken_condition(question, "Yes, four a year. [1]", hits(METAL, LIMITS)) is None
