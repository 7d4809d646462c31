"""The Search lab's pure helpers: matched words, overlap badges, per-query metrics."""

from __future__ import annotations

import pytest

from lib.retrieval.search_lab import (
    in_passage,
    labelled_passages,
    match_labelled,
    match_spans,
    overlap_summary,
    score_hits,
    shared_badges,
    snippet_window,
)
from lib.samples import LabelledQuery
from lib.types import Chunk, Hit


def hit(cid: str, rank: int, doc: str = "doc.md", method: str = "vector") -> Hit:
    return Hit(Chunk(cid, "d", doc, None, None, 0, 1, f"text {cid}"), 1.0 / rank, rank, method)


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


def test_match_spans_are_analyzed_words_and_identifiers_whole() -> None:
    text = "Fees: OB-6120 card, OB-7731 card"
    assert [text[a:z] for a, z in match_spans(text, "fee OB-7731")] == ["Fees", "OB-7731"]
    assert match_spans("nothing here", "zebra") == []


def test_snippet_window_starts_before_the_first_match_and_ends_on_a_space() -> None:
    text = "word " * 100 + "target " + "tail " * 100
    start, end = snippet_window(text, match_spans(text, "target"), 60)
    assert 0 < start < text.index("target") < end < len(text)
    assert text[end] == " " and end - start <= 60
    assert snippet_window("short text", [], 60) == (0, len("short text"))
