"""What a code means: the answer must say what the line defining the code says."""

from __future__ import annotations

import pytest

from lib.generation.definitions import definition, misses_definition
from lib.types import Chunk, Hit

FAQ = ("## App error codes\n"
       "- ERR-4031: The payment would take you over one of your limits, such as your daily "
       "transfer limit. Try a smaller amount.\n"
       "- ERR-4220: An international transfer is missing part of the recipient's address. "
       "Add at least their town and country.\n")


def hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"d-{i:05d}", "d", f"doc{i}.md", None, "Errors", 0, len(t), t),
                1.0 - i / 10, i + 1, "hybrid") for i, t in enumerate(texts)]


def test_the_defining_line_of_the_code_asked_about_is_found():
    line = definition("What does ERR-4220 mean?", hits("Intro text.", FAQ))
    assert line is not None and line.source == 2
    assert line.text.startswith("ERR-4220: An international transfer") and "town" in line.text


@pytest.mark.parametrize("question", [
    "What does ERR-9999 mean?",  # no line defines it
    "What is the daily limit behind ERR-4031?",  # asks for a figure: the figure checks judge it
    "What does the error message mean?",  # names no code
])
def test_no_definition_is_looked_for(question):
    assert definition(question, hits(FAQ)) is None


@pytest.mark.parametrize("answer, misses", [
    ("ERR-4031 is a warning that a service is currently not available [1].", True),
    ("ERR-4031 means the payment would go over one of your limits [1].", False),
    ("It takes you over your limits [1].", False),  # the example "such as ..." is not needed
    ("The documentation does not say what ERR-4031 means.", False),  # declines: not judged
])
def test_an_answer_must_share_the_meanings_words(answer, misses):
    why = misses_definition("What does ERR-4031 mean in the app?", answer, hits(FAQ))
    assert bool(why) is misses
    if misses:
        assert "[1]" in why and "ERR-4031" in why


def test_a_question_about_what_to_fix_is_judged_on_the_meaning_too():
    question = "I got ERR-4220 when sending a payment. What do I need to fix?"
    assert misses_definition(question, "Correct any error in the form [1].", hits(FAQ))
    assert not misses_definition(question, "The recipient's address is missing part: add "
                                 "their town [1].", hits(FAQ))
