"""split_document and friends with the real MiniLM tokenizer: sizes, offsets, ids, sentences."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from lib.ingest.chunking import doc_id_for, sentence_spans, split_document, split_text
from lib.ingest.documents import parse_document
from lib.ingest.tokenizer import count_tokens
from lib.types import ChunkSettings, Page, ParsedDocument
from tests.pdf_factory import make_pdf

SENTENCES = [
    "The Orbit Metal card (OB-7731) costs £12.99 a month.",
    "It includes travel insurance, e.g. medical cover abroad.",
    "Open Banking API v2.3.1 uses ISO-20022 messages.",
    "Orbit Saver OB-2204 is an easy-access savings account.",
    "Rates can change.",
    "Café owners pay no fee on Orbit Business OB-5050 – until 2027.",
    "Orbit FX (OB-4410) sends money to 40 countries!",
    "Is the Orbit Credit Builder card OB-6120 right for you?",
    "日本語のテキストも扱えます。",
    "Emoji 🚀 and accents: naïve façade, Zürich.",
]


def make_doc(*pages: str, name: str = "doc.txt", numbered: bool = False) -> ParsedDocument:
    sha = hashlib.sha256("\x00".join(pages).encode()).hexdigest()
    return ParsedDocument(
        name=name, kind="pdf" if numbered else "txt", sha256=sha, size=sum(map(len, pages)),
        pages=tuple(Page(i + 1 if numbered else None, f"S{i}", t) for i, t in enumerate(pages)),
    )


def random_text(seed: int, n_sentences: int = 400) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(n_sentences):
        out.append(rng.choice(SENTENCES))
        out.append(rng.choice([" ", " ", " ", "\n", "\n\n", "  "]))
    return "".join(out)


def spans_text(text: str, spans) -> list[str]:
    return [text[s:e] for s, e in spans]


# ---------------------------------------------------------------- invariants


@pytest.mark.parametrize("size,overlap", [(20, 0), (48, 8), (128, 16), (256, 64)])
def test_offsets_sizes_and_coverage_hold_on_varied_unicode_text(size, overlap):
    text = random_text(seed=size)
    doc = make_doc(text, "", "Second page. " + text[:3000])
    chunks = split_document(doc, ChunkSettings(size, overlap))
    assert chunks
    for chunk in chunks:
        page = next(p for p in doc.pages if p.section == chunk.section)
        assert page.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert count_tokens(chunk.text) <= size
    # Every word of every page is in some chunk of that page.
    for page in doc.pages:
        covered = [0] * len(page.text)
        for c in chunks:
            if c.section == page.section:
                covered[c.start : c.end] = [1] * (c.end - c.start)
        assert all(covered[m.start()] for m in re.finditer(r"\S", page.text))


def test_chunks_never_cross_pages_and_carry_page_and_section():
    doc = make_doc("Page one says hello. " * 30, "Page two says goodbye. " * 30, numbered=True)
    chunks = split_document(doc, ChunkSettings(40, 8))
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert ("hello" in c.text) == (c.page == 1) and ("goodbye" in c.text) == (c.page == 2)
        assert c.section == f"S{c.page - 1}"
        assert c.doc_name == "doc.txt" and c.doc_id == doc_id_for(doc.sha256)


def test_empty_and_whitespace_pages_give_no_chunks():
    assert split_document(make_doc(""), ChunkSettings()) == []
    chunks = split_document(make_doc(" \n\n\t ", "Real text.", "", numbered=True), ChunkSettings())
    assert [(c.page, c.text) for c in chunks] == [(2, "Real text.")]
    assert chunks[0].id.endswith("-00000")


def test_ids_are_stable_positional_and_idempotent():
    doc = make_doc(random_text(1, 200), random_text(2, 200), numbered=True)
    first = split_document(doc, ChunkSettings(64, 8))
    again = split_document(doc, ChunkSettings(64, 8))
    assert first == again
    doc_id = doc.sha256[:16]
    assert doc_id_for(doc.sha256) == doc_id
    assert [c.id for c in first] == [f"{doc_id}-{i:05d}" for i in range(len(first))]
    assert len({c.id for c in first}) == len(first)


def test_unicode_offsets_on_a_real_pdf():
    data = make_pdf(["Café – £5. Naïve façade! " * 40, "Zürich Straße costs €10. " * 40])
    doc = parse_document("unicode.pdf", data)
    chunks = split_document(doc, ChunkSettings(32, 4))
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert doc.pages[c.page - 1].text[c.start : c.end] == c.text


# ---------------------------------------------------------------- sizes and overlap


def test_sentences_exactly_filling_size_make_one_chunk():
    text = " ".join(SENTENCES[:4])
    total = sum(count_tokens(s) for s in SENTENCES[:4])
    assert count_tokens(text) == total  # WordPiece counts add up across whitespace
    assert split_text(text, ChunkSettings(total, 0)) == [(0, len(text))]
    assert len(split_text(text, ChunkSettings(total - 1, 0))) == 2


def test_overlap_zero_gives_disjoint_chunks_that_cover_everything():
    text = random_text(5, 120)
    spans = split_text(text, ChunkSettings(40, 0))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert re.sub(r"\s", "", "".join(spans_text(text, spans))) == re.sub(r"\s", "", text)


def test_overlap_repeats_whole_trailing_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    settings = ChunkSettings(40, 12)
    spans = split_text(text, settings)
    sentence_starts = {s for s, _ in sentence_spans(text)}
    overlapped = 0
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s1 < s2 and e1 < e2  # always moves forward
        assert s2 in sentence_starts  # chunks start on a sentence
        if s2 < e1:
            overlapped += 1
            assert count_tokens(text[s2:e1]) <= settings.overlap
    assert overlapped == len(spans) - 1  # 8-token sentences: each next chunk repeats one


def test_one_long_sentence_is_split_between_words():
    words = [f"word{i}" for i in range(600)]
    text = " ".join(words) + "."
    spans = split_text(text, ChunkSettings(50, 10))
    assert len(spans) > 10
    for s, e in spans:
        assert count_tokens(text[s:e]) <= 50
        assert (s == 0 or text[s - 1] == " ") and (e == len(text) or text[e] == " ")
    found = set(" ".join(spans_text(text, spans)).replace(".", "").split())
    assert found == set(words)


def test_lines_without_punctuation_are_cut_at_line_starts():
    text = "\n".join(f"Orbit row {i} fee {i * 3} GBP" for i in range(300))  # like a PDF table
    spans = split_text(text, ChunkSettings(64, 8))
    assert len(spans) > 5
    for s, e in spans:
        assert (s == 0 or text[s - 1] == "\n") and (e == len(text) or text[e] == "\n")
        assert count_tokens(text[s:e]) <= 64


def test_megabyte_without_any_boundary_still_fits():
    text = " ".join(f"w{i}" for i in range(60_000))  # ~400 KB, no punctuation, no newline
    spans = split_text(text, ChunkSettings(128, 16))
    assert max(count_tokens(text[s:e]) for s, e in spans[:200]) <= 128
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(text[e] == " " for _, e in spans[:-1])


def test_unbroken_cjk_run_is_cut_into_fitting_pieces():
    text = "银行账户利率" * 100  # 600 ideographs, no spaces, no full stops
    spans = split_text(text, ChunkSettings(40, 5))
    assert "".join(spans_text(text, spans)) == text
    assert all(count_tokens(text[s:e]) <= 40 for s, e in spans)


def test_custom_counter_is_used():
    words = lambda t: len(t.split())  # noqa: E731
    text = " ".join(f"Short sentence {i}." for i in range(30))  # 3 words each
    spans = split_text(text, ChunkSettings(21, 0), count_tokens=words)
    assert [words(t) for t in spans_text(text, spans)] == [21, 21, 21, 21, 6]


def test_huge_word_with_a_custom_counter_is_halved_until_it_fits():
    by_chars = lambda t: len(t)  # noqa: E731
    text = "x" * 100 + " tail."
    spans = split_text(text, ChunkSettings(30, 0), count_tokens=by_chars)
    assert all(e - s <= 30 for s, e in spans)
    assert "".join(spans_text(text, spans)).replace(" ", "") == text.replace(" ", "")


# ---------------------------------------------------------------- sentence splitting


@pytest.mark.parametrize(
    "text",
    [
        "Use the card, e.g. abroad, i.e. anywhere.",
        "Upgrade to API v2.3.1 today.",
        "The fee is £12.99 per month.",
        "Ask about OB-7731 at the branch.",
        "Mr. Smith met Dr. Jones and J. Smith.",
        "See No. 5 in the U.K. Bank guide.",
        "It costs 5 p. per text.",
        "Rows wrapped\nacross lines in a PDF stay one sentence.",
    ],
)
def test_abbreviations_ids_and_soft_wraps_do_not_split(text):
    assert spans_text(text, sentence_spans(text)) == [text]


def test_sentence_ends_paragraphs_and_list_items_split():
    text = (
        "First sentence. Second one!  Third? \"Quoted.\" (Bracket.) 4 items follow.\n"
        "# Heading\nBody line.\n\nNew paragraph\n- item one\n- item two\n1. numbered\n"
        "Fees:\nsee below.\n"
        "天气很好。我们走吧。"
    )
    assert spans_text(text, sentence_spans(text)) == [
        "First sentence.", "Second one!", "Third?", '"Quoted."', "(Bracket.)", "4 items follow.",
        "# Heading", "Body line.", "New paragraph", "- item one", "- item two", "1. numbered",
        "Fees:", "see below.",
        "天气很好。", "我们走吧。",
    ]


def test_sentence_spans_are_trimmed_offsets():
    text = "  \n Lead space.   Trailing space.  \n\n"
    spans = sentence_spans(text)
    assert spans_text(text, spans) == ["Lead space.", "Trailing space."]
    assert sentence_spans("") == [] and sentence_spans(" \n ") == []


# ---------------------------------------------------------------- one huge line (issue 15)


class _ScanCountingStr(str):
    """A str that adds up how many characters its rfind calls may scan."""

    scanned = 0

    def rfind(self, sub, start=None, end=None):  # type: ignore[override]
        lo = 0 if start is None else start
        hi = len(self) if end is None else end
        _ScanCountingStr.scanned += max(hi - lo, 0)
        return super().rfind(sub, start, end)


class _CountingTokenizer:
    """Wraps the real tokenizer; counts the characters it is asked to encode."""

    def __init__(self, real):
        self.real, self.chars = real, 0

    def encode(self, text, **kwargs):
        self.chars += len(text)
        return self.real.encode(text, **kwargs)

    def encode_batch_fast(self, texts, **kwargs):
        self.chars += sum(map(len, texts))
        return self.real.encode_batch_fast(texts, **kwargs)


def _one_line(n_chars: int, sentences: bool) -> str:
    rng = random.Random(15)
    words = "the bank charges one fee of five pounds per month for each account holder".split()
    parts, size = [], 0
    while size < n_chars:
        s = " ".join(rng.choice(words) for _ in range(12))
        parts.append(s.capitalize() + "." if sentences else s)
        size += len(s) + 2
    return " ".join(parts)


def test_sentence_finding_on_one_huge_line_scans_each_character_a_bounded_number_of_times():
    # Looking back for the word before every full stop used to rescan the line from its
    # start (quadratic: a 20 MB one-line file never finished ingesting).
    text = _ScanCountingStr(_one_line(2_000_000, sentences=True))
    _ScanCountingStr.scanned = 0
    spans = sentence_spans(text)
    assert len(spans) == text.count(".")  # every full stop ends a sentence here
    assert _ScanCountingStr.scanned <= 2 * len(text)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["sentences", "no punctuation", "base64"])
def test_one_huge_line_is_tokenized_a_bounded_number_of_times(kind, monkeypatch):
    import base64

    from lib.ingest import tokenizer as tokenizer_module

    if kind == "base64":
        text = base64.b64encode(random.Random(15).randbytes(300_000)).decode()
    else:
        text = _one_line(1_500_000, sentences=kind == "sentences")
    counting = _CountingTokenizer(tokenizer_module.load_minilm_tokenizer())
    monkeypatch.setattr(tokenizer_module, "load_minilm_tokenizer", lambda: counting)
    settings = ChunkSettings(128, 16)
    spans = split_text(text, settings)
    assert counting.chars <= 3.5 * len(text)  # a few passes over the text, not one per piece
    monkeypatch.undo()
    covered = sum(e - s for s, e in spans)
    assert covered >= len(text) - text.count(" ")  # nothing lost
    tokens = count_tokens(text)
    # each chunk holds at most `size` tokens, and overlap repeats at most `overlap` of them
    assert tokens / settings.size <= len(spans) <= tokens / (settings.size - settings.overlap) * 1.5 + 1
    assert all(count_tokens(text[s:e]) <= settings.size for s, e in spans[:: max(len(spans) // 50, 1)])
