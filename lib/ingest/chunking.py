"""Pages -> sentence-aware, overlapping chunks sized in embedder tokens (pure functions).

Sizes and overlaps are counted in all-MiniLM-L6-v2 WordPiece tokens: the default
counter is `lib.ingest.tokenizer.count_tokens`, which this module batches through the
tokenizer's `encode_batch_fast` (each sentence is counted once, never per candidate
chunk). Packing sums per-sentence counts; that equals the count of the joined text
for WordPiece, whose pre-tokenizer splits on whitespace first. A custom counter
should be additive the same way.

A page is cut into "sentences" (sentence ends, paragraph breaks, list items),
sentences are packed greedily up to `size` tokens, and whole trailing sentences
of up to `overlap` tokens are repeated at the start of the next chunk. A sentence
longer than `size` is cut at its line breaks, then between words (characters only
for a huge unbroken word). Chunks never cross a Page, and
`page.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from lib.ingest import tokenizer as _tokenizer
from lib.types import Chunk, ChunkSettings, ParsedDocument, chunk_id

Counter = Callable[[str], int]
Span = tuple[int, int]
_BATCH = 1024  # sentences per encode_batch call (each holds at most _MAX_UNIT_CHARS)
# Soft-wrapped lines join into one sentence only up to this many characters, so text
# with no punctuation at all (tables, logs) is cut at lines, not word by word.
_MAX_SOFT_SENTENCE = 250
# Longer stretches without any boundary are cut at a space (or, with none, anywhere),
# so no unit is huge (bounded tokenizer work and memory); packing joins them again.
_MAX_UNIT_CHARS = 2000
_WORD = re.compile(r"\S+")
_LINE = re.compile(r"\S(?:[^\n]*\S)?")  # a line without its surrounding whitespace
_SPACE = re.compile(r"\s")


def doc_id_for(sha256: str) -> str:
    """A document's id: the first 16 hex characters of its content hash."""
    return sha256[:16]


def split_document(
    doc: ParsedDocument,
    settings: ChunkSettings,
    count_tokens: Counter = _tokenizer.count_tokens,
) -> list[Chunk]:
    """Cut a parsed document into chunks.

    Args:
        doc: the parsed document; empty or whitespace-only pages give no chunks.
        settings: chunk size and overlap, in tokens of `count_tokens`.
        count_tokens: the token counter (default: MiniLM WordPiece, batched).
    Returns:
        Chunks in reading order, with ids from `chunk_id()` counted across the
        whole document, so the same bytes and settings always give the same ids.
    """
    doc_id = doc_id_for(doc.sha256)
    per_page = [sentence_spans(page.text) for page in doc.pages]
    flat = [page.text[s:e] for page, spans in zip(doc.pages, per_page) for s, e in spans]
    counts = iter(count_all(flat, count_tokens))
    chunks: list[Chunk] = []
    for page, spans in zip(doc.pages, per_page):
        page_counts = [next(counts) for _ in spans]
        for start, end in _chunk_spans(page.text, spans, page_counts, settings, count_tokens):
            chunks.append(Chunk(
                id=chunk_id(doc_id, len(chunks)), doc_id=doc_id, doc_name=doc.name,
                page=page.number, section=page.section, start=start, end=end,
                text=page.text[start:end],
            ))
    return chunks


def split_text(
    text: str, settings: ChunkSettings, count_tokens: Counter = _tokenizer.count_tokens
) -> list[Span]:
    """(start, end) offsets of the chunks of one text (what split_document does per page)."""
    spans = sentence_spans(text)
    counts = count_all([text[s:e] for s, e in spans], count_tokens)
    return _chunk_spans(text, spans, counts, settings, count_tokens)


def _chunk_spans(
    text: str, spans: Sequence[Span], counts: Sequence[int], settings: ChunkSettings,
    count_tokens: Counter,
) -> list[Span]:
    """Chunk offsets from counted sentence spans (oversize ones are cut smaller first)."""
    units, unit_counts = _fit(text, spans, counts, settings.size, count_tokens)
    return [(units[a][0], units[b - 1][1])
            for a, b in _pack(unit_counts, settings.size, settings.overlap)]


# Token estimate for the chunk limit: this many evenly spread windows of this many
# characters (64 KB, ~20 ms to tokenize) stand for the whole text; smaller texts are
# counted whole.
_SAMPLES = 32
_SAMPLE_CHARS = 2048


def min_chunks_estimate(
    doc: ParsedDocument, settings: ChunkSettings, count_tokens: Counter = _tokenizer.count_tokens
) -> int:
    """About the fewest chunks `split_document` can make, from a sample: cheap on huge files.

    Every chunk holds at most `settings.size` tokens, so tokens / size bounds the count
    from below (overlap and sentence packing only add chunks); the token total is
    extrapolated from sampled windows.
    """
    texts = [page.text for page in doc.pages if page.text]
    total = sum(map(len, texts))
    if total <= _SAMPLES * _SAMPLE_CHARS:
        tokens = sum(count_all(texts, count_tokens))
    else:
        joined = "\n".join(texts)  # page joins only add a few characters
        step = len(joined) // _SAMPLES
        windows = [joined[i * step : i * step + _SAMPLE_CHARS] for i in range(_SAMPLES)]
        sampled = sum(count_all(windows, count_tokens))
        tokens = round(sampled * len(joined) / sum(map(len, windows)))
    return -(-tokens // settings.size)


def may_exceed(doc: ParsedDocument, limit: int) -> bool:
    """Is `min_chunks_estimate` worth running before `split_document` against `limit` chunks?

    No when the text provably cannot make more: every chunk takes at least one new unit,
    and units are disjoint spans each holding a non-space character, so chunks <= non-space
    characters. No either when the text is small enough that the estimate would tokenize
    all of it: chunking then costs the same and gives the exact count.
    """
    texts = [page.text for page in doc.pages if page.text]
    if sum(map(len, texts)) <= _SAMPLES * _SAMPLE_CHARS:
        return False
    # ASCII whitespace only: uncounted Unicode spaces can only overstate the bound.
    non_space = sum(len(t) - sum(map(t.count, " \t\n\r\x0b\x0c")) for t in texts)
    return non_space > limit


def count_all(texts: Sequence[str], count_tokens: Counter) -> list[int]:
    """Token counts of many texts; the default MiniLM counter runs in large batches."""
    if count_tokens is not _tokenizer.count_tokens:
        return [count_tokens(t) for t in texts]
    tokenizer = _tokenizer.load_minilm_tokenizer()
    counts: list[int] = []
    # Slices bound memory (an Encoding keeps every token string); encode_batch_fast
    # skips the offset bookkeeping we don't need.
    for i in range(0, len(texts), _BATCH):
        batch = tokenizer.encode_batch_fast(list(texts[i : i + _BATCH]), add_special_tokens=False)
        counts.extend(len(e.ids) for e in batch)
    return counts


# ---------------------------------------------------------------- sentences

# Candidate cut points: a newline run, sentence punctuation + closers + whitespace,
# or CJK full stops (which take no space after them).
_CANDIDATE = re.compile(r"[ \t]*\n\s*|[.!?]+[\"'”’»)\]]*\s+|[。！？]+")
_CLOSERS = "\"'”’»)]"
_HARD_END = set(".!?:;。！？")
_LIST_ITEM = re.compile(r"(?:[-*+•▪‣◦–>|#]|\d{1,3}[.)]|[a-zA-Z][.)])\s")
_OPENERS = set("\"'“‘«([£$€¥#*•-")
# Lower-cased words that end with a full stop without ending a sentence.
_INITIALS = re.compile(r"(?:[a-z]\.)*[a-z]")
_ABBREVIATIONS = frozenset(
    "etc vs cf al approx incl excl esp dept est fig figs no nos nr vol p pp ch sec "
    "art para mr mrs ms dr prof sr jr st ltd inc co corp plc jan feb mar apr jun jul aug "
    "sep sept oct nov dec mon tue wed thu fri sat sun min max avg ref refs tel ext".split()
)


def sentence_spans(text: str) -> list[Span]:
    """(start, end) of each sentence-like unit of `text`, trimmed of surrounding whitespace."""
    spans: list[Span] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if not _is_boundary(text, match, match.start() - start > _MAX_SOFT_SENTENCE):
            continue
        cut = match.start() + len(match.group().rstrip())
        _add_trimmed(text, start, cut, spans)
        start = match.end()
    _add_trimmed(text, start, len(text), spans)
    return spans


def _add_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    """Append text[start:end] without surrounding whitespace, cut at spaces when huge."""
    while end - start > _MAX_UNIT_CHARS:
        window = start + _MAX_UNIT_CHARS
        cut = max(text.rfind(" ", start + 1, window), text.rfind("\n", start + 1, window))
        if cut < 0:  # no space at all (minified data?): cut mid-"word"; the pieces
            # may be packed together again, where WordPiece counts are only nearly additive
            _add_trimmed(text, start, window, spans)
            start = window
            continue
        _add_trimmed(text, start, cut, spans)
        start = cut + 1
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def _is_boundary(text: str, match: re.Match[str], long_sentence: bool) -> bool:
    """Is this candidate a real sentence/paragraph/list-item end?"""
    found = match.group()
    if found[0] in "。！？":
        return True
    if found.lstrip(" \t")[0] == "\n":
        return long_sentence or _newline_is_hard(text, match.start(), match.end(), found)
    if "\n" in found:  # sentence punctuation at the end of a line
        return True
    after = text[match.end() : match.end() + 1]
    if not after or not (after.isupper() or after.isdigit() or after in _OPENERS):
        return False  # "costs 5 p. per..." or a lower-case continuation
    if found[0] != ".":
        return True
    word = _word_before(text, match.start()).lower()
    # "J. Smith" (an initial) and "U.K. Bank" are not sentence ends either.
    return not (word in _ABBREVIATIONS or _INITIALS.fullmatch(word))


def _newline_is_hard(text: str, start: int, end: int, found: str) -> bool:
    """Paragraph breaks, lines ending a sentence, and list items/headings are boundaries.

    Other single newlines are soft wraps (as in PDF text) and stay inside a sentence.
    """
    if found.count("\n") > 1 or start == 0 or end == len(text):
        return True
    last = start - 1
    while last > 0 and text[last] in _CLOSERS:  # look through closing quotes/brackets
        last -= 1
    if text[last] in _HARD_END or _LIST_ITEM.match(text, end):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    while line_start < start and text[line_start] in " \t":
        line_start += 1
    return bool(_LIST_ITEM.match(text, line_start))  # the line before is an item/heading


# How far back _word_before looks: far beyond any abbreviation or run of initials. The
# bound matters: an unbounded rfind("\n") rescans a one-line text from its start at
# every full stop (quadratic: a 20 MB single line took minutes just to find sentences).
_MAX_WORD_LOOKBACK = 64


def _word_before(text: str, pos: int) -> str:
    """The whitespace-delimited word ending at `pos`, without leading brackets or quotes."""
    low = max(pos - _MAX_WORD_LOOKBACK, 0)
    begin = max(text.rfind(" ", low, pos), text.rfind("\n", low, pos), low - 1) + 1
    return text[begin:pos].lstrip("\"'“‘([")


# ---------------------------------------------------------------- packing


def _fit(text: str, spans: Sequence[Span], counts: Sequence[int], size: int,
         count_tokens: Counter) -> tuple[list[Span], list[int]]:
    """Replace every span longer than `size` tokens by its lines, words or character pieces."""
    if all(c <= size for c in counts):
        return list(spans), list(counts)
    units: list[tuple[Span, int]] = []
    for span, count in zip(spans, counts):
        if count <= size:
            units.append((span, count))
        else:
            units.extend(_split_unit(text, span, size, count_tokens, (_LINE, _WORD)))
    return [u for u, _ in units], [c for _, c in units]


def _split_unit(text: str, span: Span, size: int, count_tokens: Counter,
                levels: tuple[re.Pattern[str], ...]) -> list[tuple[Span, int]]:
    """Cut an oversize span at its lines, then words, then characters, until pieces fit."""
    if not levels:
        return _char_pieces(text, span, size, count_tokens)
    if levels[0] is _LINE and text.find("\n", span[0], span[1]) < 0:
        return _split_unit(text, span, size, count_tokens, levels[1:])  # one line: skip a pass
    if levels[0] is _WORD and _SPACE.search(text, span[0], span[1]) is None:
        return _split_unit(text, span, size, count_tokens, levels[1:])  # one word: skip a pass
    out: list[tuple[Span, int]] = []
    for piece, n in _counted_pieces(text, span, levels[0], count_tokens):
        if n <= size:
            out.append((piece, n))
        else:
            out.extend(_split_unit(text, piece, size, count_tokens, levels[1:]))
    return out


def _counted_pieces(text: str, span: Span, pattern: re.Pattern[str], count_tokens: Counter
                    ) -> list[tuple[Span, int]]:
    """The pieces of a span matching `pattern` (lines or words), with their token counts."""
    pieces = [(m.start(), m.end()) for m in pattern.finditer(text, span[0], span[1])]
    if count_tokens is not _tokenizer.count_tokens:
        return list(zip(pieces, count_all([text[s:e] for s, e in pieces], count_tokens)))
    # One encode of the whole span (not one per piece: a span can hold thousands of
    # words); each token belongs to the piece its start offset falls in.
    encoding = _tokenizer.load_minilm_tokenizer().encode(
        text[span[0] : span[1]], add_special_tokens=False
    )
    token_starts = np.fromiter((a for a, _ in encoding.offsets), dtype=np.int64) + span[0]
    piece_starts = np.fromiter((s for s, _ in pieces[1:]), dtype=np.int64)
    cuts = [0, *np.searchsorted(token_starts, piece_starts).tolist(), len(token_starts)]
    return [(piece, cuts[i + 1] - cuts[i]) for i, piece in enumerate(pieces)]


def _char_pieces(text: str, span: Span, size: int, count_tokens: Counter
                 ) -> list[tuple[Span, int]]:
    """Cut a huge unbroken word into pieces that fit (e.g. CJK text without spaces, base64).

    Each piece is reported as a full chunk (`size`) because subword counts of pieces
    joined without a space need not add up; so pieces are never packed together.
    """
    if count_tokens is _tokenizer.count_tokens:
        return _token_windows(text, span, size)
    return _halves(text, span, size, count_tokens)


def _token_windows(text: str, span: Span, size: int) -> list[tuple[Span, int]]:
    """Cut at about every `size`-th token start: one encode plus one batched recount per word.

    Halving instead re-encodes each half at every level, one call per piece: on a 300 KB
    base64 line the tokenizer read 6.8x the text's length that way, 3.0x with this
    (tests/test_chunking.py bounds it at 3.5x); 2 MB of it took ~40 s to chunk before.
    """
    start, end = span
    encoding = _tokenizer.load_minilm_tokenizer().encode(text[start:end], add_special_tokens=False)
    # A piece that starts mid-word may re-tokenize one token longer (measured on base64:
    # 41 of 375 windows of exactly 128 were 129, none with this slack).
    step = max(size - max(size // 16, 1), 1)
    starts = [start + a for a, _ in encoding.offsets[step::step]]
    bounds = [start, *[s for s in starts if start < s < end], end]
    pieces = list(zip(bounds, bounds[1:]))
    # Still check every piece: a misfit (none measured) is halved.
    counts = count_all([text[a:b] for a, b in pieces], _tokenizer.count_tokens)
    out: list[tuple[Span, int]] = []
    for piece, n in zip(pieces, counts):
        out.extend([(piece, size)] if n <= size else _halves(text, piece, size, _tokenizer.count_tokens))
    return out


def _halves(text: str, span: Span, size: int, count_tokens: Counter) -> list[tuple[Span, int]]:
    """Halve a span until each piece fits `size` tokens of `count_tokens`."""
    start, end = span
    if end - start <= 1 or count_tokens(text[start:end]) <= size:
        return [(span, size)]
    mid = (start + end) // 2
    return _halves(text, (start, mid), size, count_tokens) + _halves(text, (mid, end), size, count_tokens)


def _pack(counts: Sequence[int], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of units (each <= size) into [first, last) ranges with overlap.

    The carried tail never includes a chunk's first unit, and the next chunk always
    takes at least one new unit, so the loop always advances.
    """
    ranges: list[tuple[int, int]] = []
    first, n = 0, len(counts)
    while first < n:
        total, end = 0, first
        while end < n and total + counts[end] <= size:
            total += counts[end]
            end += 1
        end = max(end, first + 1)  # defensive: a unit over size still forms a chunk
        ranges.append((first, end))
        if end >= n:
            break
        nxt, carry = end, 0
        while overlap and nxt - 1 > first and carry + counts[nxt - 1] <= overlap:
            nxt -= 1
            carry += counts[nxt]
        while nxt < end and carry + counts[end] > size:  # the next unit must still fit
            carry -= counts[nxt]
            nxt += 1
        first = nxt
    return ranges
