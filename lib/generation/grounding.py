"""The grounding check: is every figure, date and ID in an answer in a source it cites?

Pure text rules, no model: it works the same for every provider. An answer's figures
(prices, rates, percentages, dates, times, IDs, plain numbers) are extracted with
normalised keys, so "£1,200" matches "1200", "2.5 %" matches "2.5%" and "2026-02-28"
matches "28 February 2026"; each is then looked up in every source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lib.types import Figure, Grounding, Hit

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MONTH = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
          r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CUR = r"£|\$|€|(?:GBP|EUR|USD)\s?"
_CUR_WORD = r"\s?(?:pounds?|GBP|euros?|EUR|dollars?|USD|p\b)"
# Counts written in words, by value (compound ones such as "twenty-one" are rare in terms).
_WORD_VALUES = {w: i for i, w in enumerate(
    ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
     "fifteen sixteen seventeen eighteen nineteen twenty").split(), 1)} | \
    {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_TIME_UNIT_WORDS = r"(?:(?:business|working|calendar)[ \t]+)?(?:minute|hour|day|week|month|year)s?\b"
# Citation markers are not figures: "[1]", "[1, 3]", "[Source 2]".
_CITATION = re.compile(r"\[\s*(?:sources?|excerpts?)?\s*\d+(?:\s*[,;&\-–]\s*\d+)*\s*\]", re.IGNORECASE)

# Order matters: earlier patterns claim their text first (a date's day is not a number).
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")),
    ("date", re.compile(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})\b")),
    ("date", re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?"
                        r"(?:,?\s+(?P<y>\d{4}))?\b", re.IGNORECASE)),
    ("date", re.compile(rf"\b{_MONTH}\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?"
                        r"(?:,?\s+(?P<y>\d{4}))?\b", re.IGNORECASE)),
    ("date", re.compile(rf"\b{_MONTH}\s+(?P<y>\d{{4}})\b", re.IGNORECASE)),
    ("time", re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)\b")),
    ("id", re.compile(r"\b\d{2}-\d{2}-\d{2}\b")),  # sort code
    ("id", re.compile(r"\+\d{1,3}(?:[ -]?\d{2,4}){2,4}\b"  # phone, international
                      r"|\b0\d{2,4}(?:[ -]?\d{3,4}){2,3}\b")),  # phone, UK
    ("id", re.compile(r"\bv\d+(?:\.\d+)+\b", re.IGNORECASE)),  # version
    ("id", re.compile(r"\b[A-Z][A-Z0-9]*-\d[\w-]*\b")),  # OB-7731, ERR-4031, ISO-20022
    ("id", re.compile(r"\b[a-z]{3,}\.\d{3}\b")),  # pacs.008
    ("id", re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{5,}\b")),  # ORBTGB2L
    ("percent", re.compile(rf"(?<![\w.])(?P<n>{_NUM})\s?(?:%|per\s?cent\b|percent\b)", re.IGNORECASE)),
    ("money", re.compile(rf"(?:{_CUR})\s?(?P<n>{_NUM})|(?<![\w.])(?P<n2>{_NUM}){_CUR_WORD}",
                         re.IGNORECASE)),
    ("number", re.compile(rf"(?<![\w.,])(?P<n>{_NUM})(?![\w])")),
    # A count of time written in words ("within five business days", "after seven days"):
    # the same figure as "5 days" to the checks. Only before a time unit: "one of", "in one
    # go" are not counts ("up to five team members" answers "how many" by lines.no_figure).
    ("number", re.compile(rf"\b(?P<w>{'|'.join(_WORD_VALUES)})(?=[ \t]+{_TIME_UNIT_WORDS})",
                          re.IGNORECASE)),
)


@dataclass(frozen=True)
class Mention:
    """A figure as written in a text, with the keys it matches under."""

    text: str
    kind: str
    keys: frozenset[str]  # a source supports all of these
    key: str  # the most specific one, which an answer's figure must find
    start: int
    # What the amount counts: a currency ("gbp", "eur", "usd", "pence") or a time unit
    # ("day", "month", ...) when written with one; "" when bare.
    unit: str = ""


def _value(raw: str) -> str:
    """'1,200.00' -> '1200', '4.20' -> '4.2': one spelling per number."""
    try:
        d = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return raw
    return format(d.normalize(), "f")


def _date_keys(m: re.Match[str]) -> frozenset[str]:
    """Keys of a date: the full date plus partial forms, so '1 March' matches '1 March 2026'."""
    g = m.groupdict()
    month = g.get("mon")
    mm = _MONTHS[month[:3].lower()] if month else int(g["m"])
    dd = int(g["d"]) if g.get("d") else None
    yy = int(g["y"]) if g.get("y") else None
    if not 1 <= mm <= 12:
        return frozenset()
    keys = set()
    if yy and dd:
        keys.add(f"date:{yy:04d}-{mm:02d}-{dd:02d}")
    if dd:
        keys.add(f"date:--{mm:02d}-{dd:02d}")
    if yy:
        keys.add(f"date:{yy:04d}-{mm:02d}")
    return frozenset(keys)


def _keys(kind: str, m: re.Match[str]) -> frozenset[str]:
    """How a mention is looked up: money and plain numbers share one key (same value)."""
    if kind == "date":
        return _date_keys(m)
    if kind == "time":
        return frozenset({f"time:{int(m['h']):02d}:{m['min']}"})
    if kind == "id":
        text = m.group(0)
        if re.fullmatch(r"[+\d][\d -]+", text) and not re.fullmatch(r"\d{2}-\d{2}-\d{2}", text):
            return frozenset({"tel:" + re.sub(r"\D", "", text)})
        return frozenset({"id:" + text.lower()})
    if kind == "percent":
        return frozenset({"pct:" + _value(m["n"])})
    # A price written without its symbol ("a fee of 12") still names the same value; being
    # lenient here costs a rare false "found" (12 vs "12 months"), strict costs false alarms.
    if word := m.groupdict().get("w"):
        return frozenset({f"num:{_WORD_VALUES[word.lower()]}"})
    raw = m.groupdict().get("n") or m.groupdict().get("n2") or m.group(0)
    return frozenset({"num:" + _value(raw)})


_CURRENCIES = (("pence", re.compile(r"^\s*p$", re.IGNORECASE)),
               ("gbp", re.compile(r"£|gbp|pound", re.IGNORECASE)),
               ("eur", re.compile(r"€|eur", re.IGNORECASE)),
               ("usd", re.compile(r"\$|usd|dollar", re.IGNORECASE)))


# "24 hours", "15 business days", "30 days' notice": a count of time, by its unit.
_TIME_UNIT = re.compile(r"[ \t]*(?:(?:business|working|calendar)[ \t]+)?"
                        r"(minute|hour|day|week|month|year)s?\b", re.IGNORECASE)


def _unit(kind: str, m: re.Match[str], work: str) -> str:
    """What a money amount or a number counts, as written ("" when bare or another kind)."""
    if kind == "number":
        after = _TIME_UNIT.match(work, m.end())
        return after.group(1).lower() if after else ""
    if kind != "money":
        return ""
    value = m.groupdict().get("n") or m.groupdict().get("n2") or ""
    written = m.group(0).replace(value, " ", 1)
    return next((code for code, pattern in _CURRENCIES if pattern.search(written)), "")


def mentions(text: str) -> list[Mention]:
    """Every figure, date, time and ID in `text`, in reading order (citations skipped)."""
    work = _CITATION.sub(lambda m: " " * len(m.group(0)), text)
    found: list[Mention] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(work):
            keys = _keys(kind, m)
            if keys:  # the longest key is the most specific ("date:2026-02-28")
                key = max(keys, key=len)
                found.append(Mention(m.group(0).strip(), kind, keys, key, m.start(),
                                     _unit(kind, m, work)))
        work = pattern.sub(lambda m: " " * len(m.group(0)), work)
    return sorted(found, key=lambda x: x.start)


def source_keys(text: str) -> frozenset[str]:
    """Every key a source text supports (the same rules as the answer side)."""
    return frozenset(k for mention in mentions(text) for k in mention.keys)


def source_units(text: str) -> dict[str, set[str]]:
    """For each amount or number in a source, the units it is written with ("" for bare)."""
    out: dict[str, set[str]] = {}
    for m in mentions(text):
        if m.kind in ("money", "number"):
            out.setdefault(m.key, set()).add(m.unit)
    return out


def _other_unit(mention: Mention, units: dict[str, set[str]]) -> bool:
    """True when a source writes the answer's amount only with other units: "9.00 euros" is
    not the source's "£9.00", nor "24 hours" its "24 months" (a bare figure on either side
    is lenient: "a fee of 12" still names the source's £12)."""
    written = units.get(mention.key)
    return bool(mention.unit) and bool(written) and not written & {mention.unit, ""}


def _sources_with(mention: Mention, keyed: Sequence[frozenset[str]],
                  lowered: Sequence[str], units: Sequence[dict[str, set[str]]]
                  ) -> tuple[int, ...]:
    """1-based numbers of the sources holding `mention` (IDs also as plain substrings)."""
    out = []
    for n, (keys, low, written) in enumerate(zip(keyed, lowered, units, strict=True), 1):
        plain_id = mention.kind == "id" and mention.text.lower() in low
        if (mention.key in keys and not _other_unit(mention, written)) or plain_id:
            out.append(n)
    return tuple(out)


def check_grounding(text: str, sources: Sequence[Hit], citations: Sequence[int]) -> Grounding:
    """Mark each figure in `text` as found in a cited source, only in an uncited one, or nowhere.

    Args:
        text: the answer.
        sources: the numbered sources the model saw ([1] is sources[0]).
        citations: the source numbers the answer cites; none cited means all are checked
            (the answer then leans on everything the model saw).

    Returns:
        A Grounding; `.passed` is True when every figure is in a checked source.
    """
    checked = tuple(c for c in citations if 1 <= c <= len(sources)) \
        or tuple(range(1, len(sources) + 1))
    texts = [h.chunk.text for h in sources]
    keyed = [source_keys(t) for t in texts]
    lowered = [" ".join(t.split()).lower() for t in texts]
    units = [source_units(t) for t in texts]
    figures = []
    seen: set[str] = set()
    for mention in mentions(text):
        if mention.key in seen:  # "£12 ... £12": one line is enough
            continue
        seen.add(mention.key)
        where = _sources_with(mention, keyed, lowered, units)
        figures.append(Figure(mention.text, mention.kind, where,
                              any(n in checked for n in where)))
    return Grounding(tuple(figures), checked)


# Phrases with which an answer says the documents do not answer (any provider's wording
# varies; these are the common ones, matched case-insensitively).
_DECLINE = re.compile(
    r"(?:does|do|did)\s?n[o']t\s+(?:say|mention|contain|include|specify|state|provide|cover"
    r"|give|list)|(?:is|are)\s?n[o']t\s+(?:mentioned|stated|specified|provided|given|listed"
    r"|covered|included|available)\s+in|not\s+in\s+the\s+(?:documentation|documents|excerpts"
    r"|sources)|no\s+(?:information|mention|details?)\s+(?:about|on|of|regarding)"
    r"|(?:can(?:no|')t|unable\s+to)\s+find|i\s+(?:do\s?n[o']t|don't)\s+know", re.IGNORECASE)


def declines(text: str) -> bool:
    """True when the answer says the documents do not contain the answer."""
    return bool(_DECLINE.search(text))


def citations_to_add(grounding: Grounding) -> tuple[int, ...]:
    """Sources to cite so every figure is supported; () when some figure is in no source.

    An answer that copies a figure from an excerpt but cites another one is grounded,
    just mis-cited: citing the excerpt that holds it fixes that without a model call.
    """
    unsupported = grounding.unsupported
    if not unsupported or any(not f.sources for f in unsupported):
        return ()
    return tuple(sorted({f.sources[0] for f in unsupported}))


def missing_ids(question: str, texts: Sequence[str]) -> list[str]:
    """The codes a question names (OB-9999, ERR-7777, v2.4) that none of `texts` holds.

    Retrieval weighs an exact code heavily (keyword search keeps it whole), so a code that
    is in none of the retrieved passages is, in practice, in no document: the question is
    about something the documents do not cover, however close the other words come.
    """
    lowered = [" ".join(t.split()).lower() for t in texts]
    return [m.text for m in mentions(question) if m.kind == "id"
            and not any(m.text.lower() in low for low in lowered)]


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


_VERDICT = re.compile(r"\b(?:yes|no)\b", re.IGNORECASE)


def figure_free_ends(text: str) -> tuple[str, str]:
    """The answer's opening and closing sentences that hold no figure and cite nothing.

    When the post-check replaces an answer's unsupported figures with a quote, these stay:
    a greeting or a disclaimer (a fine-tuned house style) is not what failed the check.
    A "yes" or "no" is a verdict, not furniture: it goes with the failed answer ("yes, the
    insurance covers you" stayed in front of the quote saying "aged 70 or under").
    """
    sentences = [x for x in _SENTENCE.split(text.strip()) if x]

    def plain(sentence: str) -> bool:
        return not mentions(sentence) and not _CITATION.search(sentence) \
            and not _VERDICT.search(sentence)

    if all(not mentions(x) and not _CITATION.search(x) for x in sentences):
        return "", ""  # nothing but plain sentences: no figure was the problem
    lead = 0
    while lead < len(sentences) and plain(sentences[lead]):
        lead += 1
    if lead == len(sentences):
        return "", ""  # nothing but plain sentences: no figure was the problem
    tail = len(sentences)
    while tail > lead and plain(sentences[tail - 1]):
        tail -= 1
    return " ".join(sentences[:lead]), " ".join(sentences[tail:])


# Copying this many words in a row from a source, past what the question itself says,
# is quoting it: 6 words is a clause ("would take you over one of your"), not a phrase.
COPIED_WORDS = 6
_WORD = re.compile(r"[a-z0-9£%][a-z0-9£%.,'\-]*[a-z0-9£%]|[a-z0-9£%]")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _longest_run(answer: list[str], source: str, skip: set[tuple[str, ...]]) -> int:
    """The most consecutive answer words found in a row in `source` (a run that starts
    with words the question holds, in `skip`, does not count: that is an echo)."""
    src = f" {' '.join(_words(source))} "
    best = 0
    for i in range(len(answer)):
        j = i
        while j < len(answer) and f" {' '.join(answer[i:j + 1])} " in src:
            j += 1
        if j - i > best and tuple(answer[i:i + COPIED_WORDS]) not in skip:
            best = j - i
    return best


# A figure-free opening or closing sentence this short is a greeting or a disclaimer.
STYLE_WORDS = 12


def _without_style_ends(text: str) -> str:
    """`text` without its short figure-free, citation-free first and last sentences."""
    sentences = [x for x in _SENTENCE.split(text.strip()) if x]

    def style(sentence: str) -> bool:
        return (len(sentence.split()) <= STYLE_WORDS and not mentions(sentence)
                and not _CITATION.search(sentence))

    while sentences and style(sentences[0]):
        sentences.pop(0)
    while sentences and style(sentences[-1]):
        sentences.pop()
    return " ".join(sentences)


def copied_sources(text: str, sources: Sequence[Hit], citations: Sequence[int],
                   question: str = "") -> tuple[int, ...]:
    """Sources the answer quotes (COPIED_WORDS+ words in a row) that it does not cite.

    Only when no cited source holds so long a run: a small model that picks the wrong
    number for a sentence it copied from another excerpt (measured: the local model's
    citation step) then cites the excerpt its words came from as well. The answer's
    short figure-free opening and closing sentences are left out: a house-style
    disclaimer copied from a style guide is not where the answer's facts came from.
    """
    answer = _words(_CITATION.sub(" ", _without_style_ends(text)))
    q = _words(question)
    skip = {tuple(q[i:i + COPIED_WORDS]) for i in range(len(q))}
    runs = {n: _longest_run(answer, h.chunk.text, skip) for n, h in enumerate(sources, 1)}
    if any(runs.get(n, 0) >= COPIED_WORDS for n in citations):
        return ()
    best = max(runs.values(), default=0)
    return tuple(n for n, r in runs.items() if r >= COPIED_WORDS and r == best)
