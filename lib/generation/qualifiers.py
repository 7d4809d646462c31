"""A figure as its source writes it: "£2.00" → "£2.00 per payment", "29.9%" → "29.9% EAR".

The small local model often copies the right amount but drops what it is per ("per
transfer", "a month") or which rate it is (AER, APR, EAR): "£0.20" alone does not say
whether it is per transfer or per month, and "29.9% interest" not whether it is the
EAR. When the cited sources write the figure with one qualifier (and never with another),
or else the line holding it that best matches the question writes one, and the answer does
not already say it, the qualifier is added after the figure. Pure text rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lib.generation.grounding import Mention, mentions
from lib.generation.lines import line_scores, lines_of
from lib.types import Figure, Grounding, Hit

# What may follow an amount or a rate in a source and belongs to it.
_RATE_TYPE = r"(?:AER|APR|EAR)\b"
_PER = (r"per\s+(?:calendar\s+|working\s+|business\s+)?(?!cent\b)[a-z]+"
        r"|a\s+(?:year|month|week|day)\b|each\s+(?:year|month|week|day)\b"
        r"|each(?=\s*(?:[.,;:)]|$))")  # "cheques up to £5,000 each."
_OF_THE = r"of\s+the\s+(?:amount|balance|transfer|payment|withdrawal|value)\b"
_QUALIFIER = {
    "money": re.compile(rf"[ \t]*({_PER})", re.IGNORECASE),
    "percent": re.compile(rf"[ \t]*({_RATE_TYPE}|{_OF_THE}|{_PER})", re.IGNORECASE),
}
# The answer already says it when the qualifier's last word follows within this many words.
_NEAR_WORDS = 6


def source_qualifier(mention: Mention, texts: Sequence[str]) -> str:
    """The one qualifier `texts` write after this figure ("" when none, or when they differ)."""
    pattern = _QUALIFIER.get(mention.kind)
    if pattern is None:
        return ""
    found = set()
    for text in texts:
        for m in mentions(text):
            if m.kind == mention.kind and m.key == mention.key:
                q = pattern.match(text, m.start + len(m.text))
                if q:
                    found.add(" ".join(q.group(1).split()))
    distinct = {q.lower() for q in found}
    return found.pop() if len(distinct) == 1 else ""


def _already_said(after: str, qualifier: str) -> bool:
    """True when the answer's words right after the figure already carry the qualifier,
    or one of its sort ("£2 a month" for the source's "per month": no second one)."""
    head = qualifier.split()[-1].lower()
    words = re.findall(r"[A-Za-z]+", after)[:_NEAR_WORDS]
    if head in (w.lower() for w in words):
        return True
    same_sort = _RATE_TYPE if re.fullmatch(_RATE_TYPE, qualifier) else _PER
    return bool(re.match(rf"[ \t]*(?:{same_sort})", after, re.IGNORECASE))


def best_line_qualifier(mention: Mention, figure: Figure, question: str,
                        sources: Sequence[Hit]) -> str:
    """The qualifier on the line holding the figure that matches `question` best, in any
    source holding it ("" when that line writes none): "£5 per card" from the replacement
    card row, not the bare "£5" of a minimum repayment line the answer happened to cite."""
    lines, _ = lines_of(sources)
    scored = [(s, ln) for ln, s in zip(lines, line_scores(question, lines), strict=True)
              if ln.source in figure.sources and any(
                  f.kind == mention.kind and mention.key in f.keys for f in ln.figures)]
    if not scored:
        return ""
    _, best = max(scored, key=lambda r: r[0])
    return source_qualifier(mention, [best.text])


def with_qualifiers(text: str, grounding: Grounding, sources: Sequence[Hit],
                    question: str = "") -> str:
    """`text` with each supported amount or rate followed by its sources' qualifier: the one
    every cited occurrence writes, else (given the question) the best line's."""
    ok = {f.text: f for f in grounding.figures if f.ok}
    cited = [sources[n - 1].chunk.text for n in grounding.checked if 1 <= n <= len(sources)]
    out, last = [], 0
    for m in mentions(text):
        if m.text not in ok or m.kind not in _QUALIFIER:
            continue
        qualifier = source_qualifier(m, cited) or (
            best_line_qualifier(m, ok[m.text], question, sources) if question else "")
        end = m.start + len(m.text)
        if qualifier and not _already_said(text[end:end + 80], qualifier):
            out.append(f"{text[last:end]} {qualifier}")
            last = end
    return "".join(out) + text[last:]
