"""Product names a question uses that no passage holds: hand-made questions and passages."""

from __future__ import annotations

import pytest

from lib.generation.names import missing_names, question_names

PASSAGES = ["Orbit Everyday (OB-1001) has no monthly fee.", "Orbit Bank's SWIFT/BIC code is ORBTGB2L.",
            "A Faster Payment from Orbit Everyday can be up to £25,000."]


@pytest.mark.parametrize("question, names", [
    ("What is the monthly fee for Orbit Everyday Plus?", ["Orbit Everyday Plus"]),
    ("What is Orbit Bank's SWIFT/BIC code?", ["Orbit Bank"]),  # possessive split off
    ("What's the biggest single Faster Payment I can send from Orbit Everyday?",
     ["Faster Payment", "Orbit Everyday"]),  # the pronoun "I" is no part of a name
    ("Under Open Banking API v2.3.1, how long does consent last?", ["Open Banking API"]),
    ("What Is The Late Payment Fee?", []),  # Title Case: capitals say nothing
    ("What is the fee for Metal?", []),  # one word is no name
    # a month and year is a date, not a product ("October 2025" is in no passage as such)
    ("What rate was Orbit Saver paying in October 2025?", ["Orbit Saver"]),
    ("Back in December 2025, what margin did Orbit FX add?", ["Orbit FX"]),
])
def test_question_names(question, names):
    assert question_names(question) == names


def test_a_name_in_no_passage_is_missing_and_one_in_a_passage_is_not():
    assert missing_names("What is the monthly fee for Orbit Everyday Plus?", PASSAGES) \
        == ["Orbit Everyday Plus"]
    assert missing_names("How big can a faster payment from ORBIT EVERYDAY be?", PASSAGES) == []
    assert missing_names("What is Orbit Bank's SWIFT/BIC code?", PASSAGES) == []


def test_the_index_is_searched_before_a_name_is_called_missing():
    asked = []

    def search(name):
        asked.append(name)
        return ["Orbit Business accounts can add Orbit Metal."] if name == "Orbit Business" else []

    q = "Can I add Orbit Metal to an Orbit Business account?"
    assert missing_names(q, ["Orbit Metal costs £12.99 a month."], search) == []
    assert asked == ["Orbit Business"]  # only the name the passages miss
    assert missing_names("Is there an Orbit Gold card?", PASSAGES, search) == ["Orbit Gold"]
