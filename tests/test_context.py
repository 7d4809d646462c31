"""Sentence-level context selection on hand-made chunks, with a deterministic fake embedder."""

from __future__ import annotations

import re
import zlib

import numpy as np

from lib.generation import context
from lib.generation.context import (
    answer_figures,
    asked_kinds,
    mark_stale,
    score_units,
    select,
    split_units,
    supersede,
    units_of,
)
from lib.types import Chunk, Hit

FEES = """3. OB-7731 Orbit Metal card
| Item | Price |
|---|---|
| Monthly plan fee | £12.99 (previously £14.99 until 28 February 2026) |
| Minimum term | 6 months |
"""
NOTES_NEW = "- The Orbit Saver (OB-2204) variable rate changed from 4.10% AER to 3.85% AER."
NOTES_OLD = "- The Orbit Saver (OB-2204) variable rate changed from 4.35% AER to 4.10% AER."
PROSE = ("Orbit Metal is a premium plan for Orbit Everyday customers. It replaces your "
         "standard card with a steel card\nand adds travel benefits for a monthly fee.")


def hit(n: int, text: str, section: str | None = None, doc: str = "doc.md",
        page: int | None = None) -> Hit:
    doc_id = f"d{n}" if page is None else doc  # pages of one PDF share its document id
    return Hit(Chunk(f"d{n}-00000", doc_id, doc, page, section, 0, len(text), text),
               1.0 / n, n, "hybrid")


def bag_embed(texts):
    """A bag-of-words embedder: shared words -> higher cosine (deterministic, no model)."""
    rows = np.zeros((len(texts), 256), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            rows[i, zlib.crc32(word.encode()) % 256] += 1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1, norms)


def test_split_units_keeps_table_rows_with_their_column_names_and_joins_wrapped_lines():
    units = split_units(FEES + "\n" + PROSE)
    texts = [t for _, t in units]
    assert "Item: Monthly plan fee; Price: £12.99 (previously £14.99 until 28 February 2026)" \
        in texts
    assert units[0][0] == "3. OB-7731 Orbit Metal card"  # the heading travels with its rows
    assert texts[-1] == "It replaces your standard card with a steel card and adds travel " \
                        "benefits for a monthly fee."
    assert len(texts) == 4  # 2 rows + 2 sentences; heading and |---| are not units


def test_a_pdf_line_wrapped_inside_a_parenthesis_continues_it():
    text = ("4.20% AER fixed for 12 months, for Fixed Savers opened from 15 March 2026 (previously\n"
            "4.45% AER)\n4.20% At maturity")
    texts = [t for _, t in split_units(text)]
    assert texts[0].endswith("(previously 4.45% AER)") and texts[1] == "4.20% At maturity"


def test_previously_line_is_marked_and_the_current_value_kept():
    marked, stale = mark_stale("Monthly plan fee £12.99 (previously £14.99 until 28 February 2026)")
    assert stale
    assert marked.startswith("Monthly plan fee £12.99 (this is the current value")
    assert "old value £14.99" in marked and "no longer applies" in marked
    changed, stale2 = mark_stale(NOTES_NEW[2:])
    assert stale2 and "(old value 4.10% AER) to 3.85% AER" in changed
    assert mark_stale("Minimum term 6 months") == ("Minimum term 6 months", False)


def test_the_current_value_is_scored_without_its_old_value():
    (unit,) = [u for u in units_of([hit(1, FEES)]) if "12.99" in u.text]
    assert unit.stale and "14.99" in unit.text and "14.99" not in unit.plain


def test_an_older_changelog_line_is_superseded_by_a_later_one():
    hits = [hit(1, NOTES_OLD, "2025-09-01: Orbit Saver rate change"),
            hit(2, NOTES_NEW, "2026-02-01: Orbit Saver rate change")]
    kept = supersede(units_of(hits))
    assert [u.hit_index for u in kept] == [1]


def test_select_picks_the_answering_row_and_puts_the_best_source_last():
    hits = [hit(1, PROSE, "OB-7731 Orbit Metal card"), hit(2, FEES, doc="fees.pdf"),
            hit(3, "Freeze your card in the app. It is free.", "Cards")]
    q = "What is the monthly plan fee for Orbit Metal?"
    scored = score_units(q, units_of(hits), bag_embed([q])[0], bag_embed, ranks=[0, 1, 2])
    excerpts = select(scored, hits, max_units=2)
    assert excerpts[-1].hit.chunk.doc_name == "fees.pdf"
    assert "£12.99" in excerpts[-1].text and "current value" in excerpts[-1].text
    assert excerpts[-1].best == max(e.best for e in excerpts)
    assert sum(len(e.units) for e in excerpts) == 2
    assert all("Freeze" not in e.text for e in excerpts)


def test_select_caps_the_number_of_sources():
    hits = [hit(i, f"Fee number {i} is £{i}.") for i in range(1, 7)]
    q = "What is the fee?"
    scored = score_units(q, units_of(hits), bag_embed([q])[0], bag_embed)
    assert len(select(scored, hits, max_units=6, max_sources=3)) == 3


def test_asked_kinds():
    assert "percent" in asked_kinds("What interest rate does Orbit Saver pay?")
    assert "money" in asked_kinds("How much does a CHAPS payment cost?")
    assert "date" in asked_kinds("When will v2.2 be switched off?")
    assert asked_kinds("Tell me about Spaces") == set()
    assert asked_kinds("I got an error when sending a payment. What is wrong?") == set()
    assert "date" in asked_kinds("By when must I report it?")
    assert asked_kinds("By what time must I send a CHAPS payment?") == {"time"}
    assert {"number", "id"} <= asked_kinds("What number can I forward a scam text to?")
    assert "money" in asked_kinds("What is the most you will reimburse on one claim?")


def test_answer_figures_skip_what_the_question_names_and_clause_numbers():
    q = "What does it cost to close the Term Saver 18M (TS-42) early?"
    assert answer_figures(q, "Term Saver 18M pays a fixed rate for 18 months.") == []
    assert answer_figures(q, "7.4 Term Saver 18M (TS-42) runs for a fixed term.") == []
    assert [m.text for m in answer_figures(q, "Early closure: loss of 60 days' interest")] \
        == ["60"]
    # a value that only looks like the name's number in another unit is still a figure
    assert [m.text for m in answer_figures(q, "Closing it costs 1.5% of the balance")] == ["1.5%"]


def test_a_unit_restating_the_named_term_gets_no_figure_bonus(monkeypatch):
    term = "Term Saver 18M pays a fixed rate for exactly 18 months if you leave your money."
    fee = "Term Saver 18M early closure: loss of 60 days' interest"
    hits = [hit(1, term, "Savings"), hit(2, fee, "Fees")]
    q = "What does it cost to take money out of Term Saver 18M early?"

    def scores():
        return {u.text: u.score for u in score_units(q, units_of(hits), bag_embed([q])[0],
                                                         bag_embed)}
    with_bonus = scores()
    monkeypatch.setattr(context, "FIGURE_BONUS", 0.0)
    without = scores()
    assert with_bonus[fee] - without[fee] > 0.1  # the fee row holds a figure that answers
    assert with_bonus[term] == without[term]  # "18 months" only restates "18M"


def test_a_clause_number_is_not_shown_to_the_model():
    terms = "10.2 For complaints about card payments we will reply within 15 business days."
    (unit,) = units_of([hit(1, terms, "Complaints")])
    assert unit.text.startswith("For complaints") and unit.original.startswith("For complaints")
    assert "15 business days" in unit.text


def test_page_furniture_is_not_a_unit():
    header = "Orbit Bank | Orbit Business Account Guide (OB-5050)"
    hits = [hit(1, f"{header}\nUp to five team members can join."),
            hit(2, f"{header}\nBulk files hold up to 500 payments.\nGuide - Page 1 of 3")]
    texts = [u.text for u in units_of(hits)]
    assert texts == [header, "Up to five team members can join.",
                     "Bulk files hold up to 500 payments."]  # the repeated header once


def test_a_running_header_on_two_pages_is_not_a_unit_nor_its_title_line():
    header = "Orbit Bank | Orbit Bank Account Terms and Conditions"
    hits = [hit(1, f"{header}\nOrbit Bank Account Terms and Conditions\n1.3 We may change "
                   "these terms by giving you two months' notice.", doc="t.pdf", page=1),
            hit(2, f"{header}\nname on the account.\n9.2 We may close your account.",
                doc="t.pdf", page=4)]
    texts = [u.text for u in units_of(hits)]
    assert not any("Orbit Bank Account Terms" in t for t in texts)
    assert "We may change these terms by giving you two months' notice." in texts
    # the same first line on one page only is not known to repeat: it stays
    assert units_of(hits[:1])[0].text == header


def test_a_row_that_opens_chunks_on_two_pages_mid_page_is_content():
    from dataclasses import replace
    row = "CHAPS same-day payment (sent) £20 per payment"
    hits = [hit(1, f"{row}\nDirect debits Free", doc="f.pdf", page=1),
            hit(2, f"{row}\nCash deposits Free", doc="f.pdf", page=3)]
    mid_page = [replace(h, chunk=replace(h.chunk, start=400)) for h in hits]
    assert row in [u.text for u in units_of(mid_page)]


def test_a_sibling_product_is_another_product_but_the_brand_alone_is_not():
    q = "How much notice do you give before cutting the Orbit Saver interest rate?"
    assert context.about_another_product(q, "Orbit Fixed Saver 12M pays a fixed rate.")
    assert not context.about_another_product(q, "We give 14 days' notice before a cut.")
    assert not context.about_another_product(q, "Orbit Fixed Saver 12M moves to Orbit Saver.")
    assert not context.about_another_product(q, "Orbit Metal costs £12.99 a month.")
    metal = "What is the replacement fee for a lost Orbit Metal card (OB-7731)?"
    assert not context.about_another_product(metal, "Replacement Metal card (lost) £40 per card")
    fixed = "What does the Orbit Fixed Saver 12M pay?"
    assert context.about_another_product(fixed, "Orbit Fixed Saver 24M pays 4.0% AER.")
    assert not context.about_another_product(fixed, "Fixed Saver 12M pays 4.20% AER.")
    assert context.about_another_product("What is OB-2204's rate?", "OB-3310 pays 4.20% AER.")
