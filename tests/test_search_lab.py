"""The Search lab's pure helpers: highlighted snippets, overlap badges, per-query metrics."""

from __future__ import annotations

import pytest

from lib.samples import LabelledQuery
from lib.retrieval.search_lab import (
    highlight,
    hit_header,
    in_passage,
    labelled_passages,
    match_labelled,
    overlap_summary,
    score_hits,
    shared_badges,
)
from lib.types import Chunk, Hit


def hit(cid: str, rank: int, doc: str = "doc.md", method: str = "vector") -> Hit:
    return Hit(Chunk(cid, "d", doc, None, None, 0, 1, f"text {cid}"), 1.0 / rank, rank, method)


def test_highlight_marks_analyzed_matches_and_escapes_html() -> None:
    text = "Fees for the <b>OB-7731</b> Metal card & lounge."
    out = highlight(text, "fee 7731")
    assert out.startswith("<mark>Fees</mark> for the &lt;b&gt;<mark>OB-7731</mark>&lt;/b&gt;")
    assert "&amp; lounge." in out and "<b>" not in out


def test_highlight_windows_long_text_around_the_first_match() -> None:
    text = "word " * 200 + "the ISO-20022 standard " + "tail " * 200
    out = highlight(text, "ISO-20022", max_chars=120)
    assert out.startswith("…") and out.endswith("…")
    assert "<mark>ISO-20022</mark>" in out
    assert len(out.replace("<mark>", "").replace("</mark>", "")) <= 124


def test_highlight_without_matches_is_the_escaped_start() -> None:
    assert highlight("a < b", "zebra") == "a &lt; b"
    assert highlight("", "x") == ""


def test_shared_badges_only_for_chunks_in_several_columns() -> None:
    columns = {
        "v": [hit("a", 1), hit("b", 2)],
        "k": [hit("c", 1), hit("a", 2)],
        "h": [hit("a", 1), hit("c", 2)],
    }
    badges = shared_badges(columns)
    assert set(badges) == {"a", "c"} and badges["a"] != badges["c"]


def test_overlap_summary() -> None:
    v = [hit("a", 1), hit("b", 2), hit("c", 3)]
    k = [hit("a", 1), hit("d", 2)]
    h = [hit("a", 1), hit("b", 2), hit("d", 3)]
    assert overlap_summary(v, k, h) == (
        "Vector and keyword agree on 1 of 3; hybrid keeps 2 of vector's and 2 of keyword's."
    )
    assert overlap_summary([], [], []) == "No results to compare."


def test_score_hits_document_level_recall_and_reciprocal_rank() -> None:
    hits = [
        hit("1", 1, "faq.md"),
        hit("2", 2, "fees.pdf"),
        hit("3", 3, "fees.pdf"),
        hit("4", 4, "terms.pdf"),
    ]
    result = score_hits(hits, {"fees.pdf": 1, "products.md": 1})
    assert result.recall == pytest.approx(0.5)  # fees.pdf found, products.md not
    assert result.reciprocal_rank == pytest.approx(0.5)  # first relevant hit at rank 2
    assert result.relevant_ids == {"2", "3"}
    assert score_hits([], {"x": 1}).recall == 0.0


def test_match_labelled_ignores_case_spacing_and_end_punctuation() -> None:
    labelled = [
        LabelledQuery("q1", "What is OB-7731?", "exact_id", True, {"products.md": 1}),
        LabelledQuery("q2", "unlabelled", "x", False, {}),
    ]
    assert match_labelled("  what is  ob-7731 ", labelled) is labelled[0]
    assert match_labelled("unlabelled", labelled) is None  # no relevant documents: not scoreable
    assert match_labelled("something else", labelled) is None


def test_hit_header_escapes_document_given_text() -> None:
    chunk = Chunk("c", "d", "<evil>.md", 3, "Fees & $5 <b>", 0, 1, "t")
    out = hit_header(Hit(chunk, 1.0, 2, "vector"), " 🟦 ✅")
    assert (
        out == "<b>#2</b> 🟦 ✅ <code>&lt;evil&gt;.md</code> p. 3 · § Fees &amp; &#36;5 &lt;b&gt;"
    )
    assert highlight("costs $5 and $6", "costs") == "<mark>costs</mark> &#36;5 and &#36;6"


def test_highlight_marks_identifiers_whole_not_by_a_shared_part() -> None:
    out = highlight("OB-6120 card, OB-7731 card, ISO-20022", "OB-7731 ISO 20022")
    assert out == "OB-6120 card, <mark>OB-7731</mark> card, <mark>ISO-20022</mark>"


def chunk_at(doc: str, page: int | None, section: str | None, text: str = "t") -> Chunk:
    return Chunk("c", "d", doc, page, section, 0, len(text), text)


def test_in_passage_by_page_section_or_heading_line() -> None:
    assert in_passage(chunk_at("a.pdf", 2, None), ["2"])
    assert not in_passage(chunk_at("a.pdf", 3, None), ["2"])
    assert in_passage(chunk_at("a.md", None, "Fees"), ["Limits", "Fees"])
    assert not in_passage(chunk_at("a.md", None, "Fees and limits"), ["Fees"])
    assert in_passage(
        chunk_at("a.txt", None, None, "IF YOUR CARD IS LOST\nCall us"), ["if your card is lost"]
    )
    assert not in_passage(chunk_at("a.txt", None, None, "Call us"), ["IF YOUR CARD IS LOST"])


def test_score_hits_with_passages() -> None:
    hits = [
        Hit(chunk_at("faq.md", None, "Welcome"), 3.0, 1, "keyword"),
        Hit(Chunk("x", "d", "faq.md", None, "Lost card", 0, 1, "t"), 2.0, 2, "keyword"),
    ]
    result = score_hits(hits, {"faq.md": 2}, {"faq.md": ("Lost card",)})
    assert result.reciprocal_rank == 1.0 and result.passage_rank == 2
    assert result.passage_ids == {"x"}
    assert score_hits(hits, {"faq.md": 2}).passage_rank is None


def test_labelled_passages_reads_the_fourth_qrels_column(tmp_path) -> None:
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(
        "query-id\tcorpus-id\tscore\tlocation\n"
        "q1\tfaq.md\t2\tLost card; Freeze\nq1\tfees.pdf\t1\t2\nq2\tx.md\t0\tIgnored\nq3\ty.md\t1\n",
        encoding="utf-8",
    )
    assert labelled_passages(qrels) == {
        "q1": {"faq.md": ("Lost card", "Freeze"), "fees.pdf": ("2",)}
    }
    assert labelled_passages(tmp_path / "missing.tsv") == {}
