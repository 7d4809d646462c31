"""The grounding check on hand-made answers: structure and rules, never a model's wording."""

from __future__ import annotations

import pytest

from lib.generation.grounding import (
    check_grounding,
    citations_to_add,
    copied_sources,
    declines,
    mentions,
    missing_ids,
)
from lib.types import Chunk, Hit

FEES = ("Monthly plan fee: £12.99 (previously £14.99 until 28 February 2026). "
        "Arranged overdraft of £1,200 at 29.9% EAR. Late payment fee £12.")
FAQ = "ERR-4031: the payment would take you over a limit. Call 0808 157 0192. Cut-off 15:30."
RATES = "Orbit Saver (OB-2204) pays 3.85% AER. API v2.3.1 allows 120 requests per minute."


def hit(n: int, text: str) -> Hit:
    return Hit(Chunk(f"d-{n:05d}", "d", f"doc{n}.md", None, None, 0, len(text), text),
               1.0 / n, n, "hybrid")


SOURCES = (hit(1, FEES), hit(2, FAQ), hit(3, RATES))


def by_text(grounding):
    return {f.text: f for f in grounding.figures}


def test_supported_answer_passes_and_names_its_source():
    g = check_grounding("The fee is £12.99 a month [1].", SOURCES, (1,))
    assert g.passed and g.checked == (1,)
    (fig,) = g.figures
    assert (fig.text, fig.kind, fig.sources, fig.supported) == ("£12.99", "money", (1,), True)


def test_unsupported_figure_fails():
    g = check_grounding("The fee is £13.50 a month [1].", SOURCES, (1,))
    assert not g.passed
    assert [f.text for f in g.unsupported] == ["£13.50"]
    assert g.unsupported[0].sources == ()


def test_figure_only_in_an_uncited_source_is_not_supported():
    g = check_grounding("The Saver pays 3.85% AER [1].", SOURCES, (1,))
    fig = by_text(g)["3.85%"]
    assert fig.sources == (3,) and not fig.supported and not g.passed


def test_no_citation_checks_every_source():
    g = check_grounding("The Saver pays 3.85% AER.", SOURCES, ())
    assert g.checked == (1, 2, 3) and g.passed


@pytest.mark.parametrize("answer", [
    "An overdraft of 1200 pounds [1].",
    "An overdraft of £1200 [1].",
    "An overdraft of 1,200.00 GBP [1].",
    "The rate is 29.9 % EAR [1].",
    "The rate is 29.90 per cent [1].",
    "It was £14.99 until 2026-02-28 [1].",
    "It was £14.99 until February 28, 2026 [1].",
    "It was £14.99 until 28/02/2026 [1].",
    "It was £14.99 until 28th February [1].",
])
def test_reformatted_figures_still_match(answer):
    g = check_grounding(answer, SOURCES, (1,))
    assert g.figures and g.passed, g


@pytest.mark.parametrize("answer, wrong", [
    ("It was £14.99 until 28 March 2026 [1].", "28 March 2026"),  # day right, month wrong
    ("It was £14.99 until 28 February 2025 [1].", "28 February 2025"),  # year wrong
    ("The rate is 29.9% [1] or 2.99% [1].", "2.99%"),
    ("The fee is £12.90 [1].", "£12.90"),
    ("A Metal card is OB-7731 [1].", "OB-7731"),
])
def test_near_misses_are_not_found(answer, wrong):
    g = check_grounding(answer, SOURCES, (1,))
    assert [f.text for f in g.unsupported] == [wrong]


@pytest.mark.parametrize("answer, passed", [
    ("The late fee is 12 euros [1].", False),  # the source writes £12
    ("The late fee is €12 [1].", False),
    ("The late fee is $12 [1].", False),
    ("The late fee is 12 pounds [1].", True),
    ("The late fee is GBP 12 [1].", True),
    ("The late fee is 12 [1].", True),  # no currency named: lenient, as before
])
def test_an_amount_in_another_currency_is_not_the_sources_amount(answer, passed):
    assert check_grounding(answer, SOURCES, (1,)).passed is passed


@pytest.mark.parametrize("answer, passed", [
    ("You have 13 hours to tell us [1].", False),  # the source counts 13 months
    ("You have 13 months to tell us [1].", True),
    ("You have 13 [1].", True),  # bare: lenient
    ("It costs £13 [1].", False),  # 13 is a count of months there, not an amount
])
def test_a_count_of_time_needs_its_unit(answer, passed):
    source = (hit(1, "Tell us within 13 months of the payment. Reply within 15 business days."),)
    assert check_grounding(answer, source, (1,)).passed is passed


def test_business_days_are_days():
    source = (hit(1, "We reply within 15 business days."),)
    assert check_grounding("It takes 15 days [1].", source, (1,)).passed


@pytest.mark.parametrize("answer, passed", [
    ("We repay within 5 business days [1].", True),  # words in the source, digits here
    ("We repay within five business days [1].", True),
    ("We repay within seven business days [1].", False),  # a count the source does not give
    ("We repay within five hours [1].", False),  # its unit is days
])
def test_a_count_of_time_in_words_is_a_figure(answer, passed):
    source = (hit(1, "We will normally repay within five business days of your claim."),)
    assert check_grounding(answer, source, (1,)).passed is passed


@pytest.mark.parametrize("text", ["one of our team", "in one go", "five team members",
                                  "Seven Dials branch"])
def test_number_words_that_count_no_time_are_not_figures(text):
    assert mentions(text) == []


def test_a_bare_amount_in_the_source_supports_any_currency():
    source = (hit(1, "Transfer fee (EUR account) 2.50 per transfer."),)
    assert check_grounding("It costs €2.50 per transfer [1].", source, (1,)).passed
    assert check_grounding("It costs £2.50 per transfer [1].", source, (1,)).passed


def test_percent_and_money_of_the_same_value_differ():
    g = check_grounding("The fee is 12% [1].", SOURCES, (1,))  # the source has £12, not 12%
    assert not g.passed


def test_ids_times_phone_numbers_and_versions():
    text = "ERR-4031 means a limit [2]; call 0808 157 0192 before 15:30 [2]; v2.3.1 [3]."
    g = check_grounding(text, SOURCES, (2, 3))
    kinds = {f.text: f.kind for f in g.figures}
    assert kinds == {"ERR-4031": "id", "0808 157 0192": "id", "15:30": "time", "v2.3.1": "id"}
    assert g.passed
    assert by_text(g)["v2.3.1"].sources == (3,)


def test_citation_markers_are_not_figures_and_repeats_are_listed_once():
    g = check_grounding("£12 [1]. Yes, £12 [1, 2] [Source 3].", SOURCES, (1,))
    assert [f.text for f in g.figures] == ["£12"]


def test_an_answer_without_figures_passes_with_nothing_listed():
    g = check_grounding("Freeze the card in the app [2].", SOURCES, (2,))
    assert g.figures == () and g.passed


def test_mentions_claim_text_once():
    found = mentions("On 1 March 2026 OB-7731 cost £12.99, a 13.3% cut.")
    assert [(m.kind, m.text) for m in found] == [
        ("date", "1 March 2026"), ("id", "OB-7731"), ("money", "£12.99"), ("percent", "13.3%")]


@pytest.mark.parametrize("text, expected", [
    ("The documentation does not say.", True),
    ("The excerpts don't mention a cheque book fee.", True),
    ("That is not in the documentation.", True),
    ("There is no information about loans.", True),
    ("The fee is £5 [1].", False),
    ("You do not need to tell us before you travel [1].", False),
])
def test_declines(text, expected):
    assert declines(text) is expected


def test_citations_to_add_fixes_a_mis_cited_figure_only():
    miscited = check_grounding("The Saver pays 3.85% AER [1].", SOURCES, (1,))
    assert citations_to_add(miscited) == (3,)
    fixed = check_grounding("The Saver pays 3.85% AER [1] [3].", SOURCES, (1, 3))
    assert fixed.passed and citations_to_add(fixed) == ()
    invented = check_grounding("The Saver pays 3.85% AER and £7 [1].", SOURCES, (1,))
    assert citations_to_add(invented) == ()  # £7 is nowhere: citing cannot fix it


def test_figure_free_ends_keep_a_greeting_and_a_disclaimer():
    from lib.generation.grounding import figure_free_ends

    text = ("Thanks for your question. The fee is 10% [1]. You can have 3 members. "
            "Rates can change. This is general information, not financial advice.")
    assert figure_free_ends(text) == (
        "Thanks for your question.",
        "Rates can change. This is general information, not financial advice.")
    assert figure_free_ends("According to the documentation, it is £99.50 [1].") == ("", "")
    assert figure_free_ends("No figures here. None at all.") == ("", "")


def test_missing_ids_are_the_codes_no_passage_holds():
    texts = ["Orbit Metal (OB-7731) costs £12.99.", "ERR-4031: over one of your limits."]
    assert missing_ids("What does ERR-7777 mean on OB-7731?", texts) == ["ERR-7777"]
    assert missing_ids("What does err-4031 mean?", texts) == []
    assert missing_ids("How much is Orbit Metal?", texts) == []


# ---- a sentence copied from a source the answer does not cite

def _src(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"c{i}", "d", f"doc{i}.md", None, None, 0, len(t), t), 1.0, i, "hybrid")
            for i, t in enumerate(texts, 1)]


COPIED = _src("Limit messages: the ERR-4031 message now names the limit you have reached.",
              "ERR-4031: The payment would take you over one of your limits, such as your "
              "daily transfer limit.")


def test_a_copied_sentence_gets_its_source_cited():
    answer = 'It means "the payment would take you over one of your limits" [1].'
    assert copied_sources(answer, COPIED, [1], "What does ERR-4031 mean?") == (2,)


@pytest.mark.parametrize("answer, cited, question", [
    # the cited source holds the copied words: nothing to add
    ("The payment would take you over one of your limits [2].", [2], "What does ERR-4031 mean?"),
    # a few shared words are not a quote
    ("You went over one of your limits [1].", [1], "What does ERR-4031 mean?"),
    # words the answer echoes from the question are not copied from the source
    ("The payment would take you over one of your limits? Try again [1].", [1],
     "Why does it say the payment would take you over one of your limits?"),
])
def test_no_citation_is_added_without_a_quote_of_an_uncited_source(answer, cited, question):
    assert copied_sources(answer, COPIED, cited, question) == ()


def test_a_house_style_closing_copied_from_a_style_guide_is_not_a_quote():
    guide = _src("Limit messages: the ERR-4031 message names the limit.",
                 "R5: end with: This is general information, not financial advice.")
    answer = ("Thanks for your question. ERR-4031 names the limit [1]. "
              "This is general information, not financial advice.")
    assert copied_sources(answer, guide, [1], "What does ERR-4031 mean?") == ()


def test_a_yes_or_no_is_a_verdict_the_quote_replaces_not_a_greeting():
    from lib.generation.grounding import figure_free_ends
    text = ("Thanks for your question. Yes. The insurance covers you, up to 31 days [1]. "
            "This is general information, not financial advice.")
    assert figure_free_ends(text) == (
        "Thanks for your question.", "This is general information, not financial advice.")
