"""The style rules R1–R6, key-fact grounding and the scorecard (the style guide's own examples)."""

from __future__ import annotations

import pytest

from lib.compare import style
from lib.compare.style import (
    RULE_IDS,
    RULES,
    StyleAverages,
    average,
    check_rules,
    citations,
    key_facts,
    score,
    split_sentences,
)

GUIDE_QUESTION = "How much does Orbit Metal cost, and is there a fee for spending in euros?"
GUIDE_ANSWER = (
    "Thanks for your question. Orbit Metal (OB-7731) costs £12.99 a month [1]. It has a six-month "
    "minimum term [1]. There is no foreign exchange (FX) fee when you pay by card in euros [1]. "
    "We use the Mastercard exchange rate. Rates can change. This is general information, not "
    "financial advice."
)
FEE_CHUNK = "Orbit Metal (OB-7731): monthly plan fee £12.99, six-month minimum term. No FX fee on card spending."


def rules(answer: str, question: str = "", n: int = 0) -> dict[str, bool | None]:
    return {r.rule: r.passed for r in check_rules(answer, question, n)}


def test_the_style_guides_complete_example_passes_everything():
    card = score(GUIDE_ANSWER, [FEE_CHUNK], GUIDE_QUESTION)
    assert all(r.passed for r in card.rules), card.rules
    assert card.style_score == 1.0 and card.grounded and card.cites_source
    assert card.facts_supported == ("OB-7731", "£12.99") and card.facts_unsupported == ()
    assert card.length_ok and card.sentences == 7


@pytest.mark.parametrize(
    "answer, rule",
    [
        (
            "Hi Sam! Thanks for your question. Hello. This is general information, not financial advice.",
            "R1",
        ),
        (
            "Thank you for your question. Hello. This is general information, not financial advice.",
            "R1",
        ),
        (
            "Thanks for your question! Hello. This is general information, not financial advice.",
            "R1",
        ),
        (
            "Thanks for your question. This is general information, not financial advice. Have a great day!",
            "R5",
        ),
        (
            "Thanks for your question. Your return is guaranteed. This is general information, not financial advice.",
            "R3",
        ),
        (
            "Thanks for your question. It is risk-free. This is general information, not financial advice.",
            "R3",
        ),
        (
            "Thanks for your question. It will definitely arrive. This is general information, not financial advice.",
            "R3",
        ),
        (
            "Thanks for your question. It is 100% safe. This is general information, not financial advice.",
            "R3",
        ),
        (
            "Thanks for your question. The OB-6120 rep APR is high. This is general information, not financial advice.",
            "R2",
        ),
        (
            "Thanks for your question. "
            + " ".join(["word"] * 60)
            + ". This is general information, not financial advice.",
            "R2",
        ),
        (
            "Thanks for your question. Orbit Saver pays a variable rate on savings. This is general information, not financial advice.",
            "R4",
        ),
    ],
)
def test_each_rule_catches_the_guides_donts(answer, rule):
    assert rules(answer)[rule] is False


def test_jargon_spelled_out_first_passes_and_product_names_are_not_jargon():
    ok = "The annual percentage rate (APR) is shown. The APR can vary."
    assert rules(ok)["R2"] is True
    assert rules("The APR is shown. The annual percentage rate (APR) can vary.")["R2"] is False
    assert rules("Orbit FX adds a margin [1]. Rates can change.", n=1)["R2"] is True
    assert rules("The FX margin is low.")["R2"] is False


def test_r4_applies_only_to_savings_investments_and_fx():
    assert rules("You can freeze your card in the app.")["R4"] is None
    assert rules("It is easy.", question="What rate does Orbit Saver pay?")["R4"] is False
    assert rules("Orbit Saver pays interest. Rates can change.")["R4"] is True
    assert rules("Transfers abroad take a day.")["R4"] is False


def test_r6_cites_when_documents_were_given_and_never_invents():
    assert rules("It costs £5 [1].", n=2)["R6"] is True
    assert rules("It costs £5 [3].", n=2)["R6"] is False  # no such source
    assert rules("It costs £5.", n=2)["R6"] is False
    assert rules("It costs £5.")["R6"] is None  # RAG off: not applicable
    assert rules("It costs £5 [1].")["R6"] is False  # RAG off: invented citation
    assert rules("The documentation does not say. Ask us in the app.", n=2)["R6"] is None


def test_key_facts_are_normalised():
    text = "Pay £1,000.00 or £12.99 at 4.50 % on OB-2204 via API v2.3.1 (ISO-20022) from 8am, 30 days [2]."
    assert key_facts(text) == {
        "£1000",
        "£12.99",
        "4.5%",
        "OB-2204",
        "v2.3.1",
        "ISO-20022",
        "8",
        "30",
    }
    assert key_facts("1. Open the app\n2. Tap Cards") == set()  # list markers are not facts
    assert citations("See [1], [2, 3] and [1].") == (1, 2, 3)


def test_a_wrong_or_stale_fact_is_not_grounded():
    stale = "Thanks for your question. Orbit Metal costs £14.99 a month [1]. This is general information, not financial advice."
    card = score(stale, [FEE_CHUNK], "How much is Orbit Metal?")
    assert card.cites_source and card.facts_unsupported == ("£14.99",) and not card.grounded
    mixed = stale.replace("£14.99 a month", "£12.99 a month, was £14.99")
    assert not score(
        mixed, [FEE_CHUNK]
    ).facts_ok  # a fact the sources do not give still counts against
    no_fact = "Thanks for your question. Check the app [1]. This is general information, not financial advice."
    assert not score(no_fact, [FEE_CHUNK]).grounded  # cites, but states no fact


def test_rag_off_answers_are_scored_against_the_retrieved_chunks_but_cannot_cite():
    answer = "Thanks for your question. Orbit Metal costs £12.99 a month. This is general information, not financial advice."
    card = score(answer, [FEE_CHUNK], "How much is Orbit Metal?", context_given=False)
    assert card.facts_ok and not card.cites_source and not card.grounded
    assert card.rule("R6").passed is None


def test_question_numbers_do_not_count_as_facts():
    card = score(
        "Error ERR-4031 means a limit [1].",
        ["Error ERR-4031 means a limit was reached."],
        "What does ERR-4031 mean?",
    )
    assert card.facts_supported == () and not card.grounded


def test_sentences_keep_citations_and_decimals():
    assert split_sentences("It costs £12.99 a month. [1] Rates can change. Done!") == [
        "It costs £12.99 a month. [1]",
        "Rates can change.",
        "Done!",
    ]


def test_average_counts_only_applicable_rules():
    good = score(GUIDE_ANSWER, [FEE_CHUNK], GUIDE_QUESTION)
    bare = score("Hello.", [FEE_CHUNK], "Hi", context_given=False)
    avg = average([good, bare])
    assert avg.n == 2 and avg.rules["R1"] == 0.5 and avg.grounded == 0.5
    assert avg.rules["R6"] == 1.0  # only the first card had documents
    assert avg.rules["R4"] == 1.0  # the bare answer touches no savings/FX topic
    assert average([]) == StyleAverages(n=0)
    assert style.OPENING == "Thanks for your question."


def test_rule_ids_and_names_have_one_owner():
    results = check_rules("Hello.", "What rate does Orbit Saver pay?", n_sources=1)
    assert [(r.rule, r.name) for r in results] == list(RULES.items())
    assert RULE_IDS == ("R1", "R2", "R3", "R4", "R5", "R6")
    assert set(average([score("Hello.", [])]).rules) == set(RULE_IDS)
