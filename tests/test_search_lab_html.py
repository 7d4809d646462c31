"""The Search lab's HTML: highlighted, escaped snippets and result-card headers."""

from __future__ import annotations

from lib.types import Chunk, Hit
from ui.search_lab_html import highlight, hit_header


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
