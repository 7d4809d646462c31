"""The Orbit Bank compliance style rules R1–R6 as code, and a per-answer scorecard.

Checks are computed, never judged by eye: the Compare grid and the dataset tests use the
same functions. A rule that does not apply (e.g. R6 when no documents were given) is
reported as `None` ("n/a"), not as a pass, so averages count only applicable rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The rule ids and names: the one place pages, averages and results files take them from.
RULES = {
    "R1": "opening",
    "R2": "plain language",
    "R3": "no promises",
    "R4": "risk wording",
    "R5": "closing disclaimer",
    "R6": "cites sources",
}
RULE_IDS = tuple(RULES)
OPENING = "Thanks for your question."
CLOSING = "This is general information, not financial advice."
RISK_LINE = "Rates can change."
MAX_MEAN_SENTENCE_WORDS = 22.0
MAX_WORDS = 150  # longer than this is not a "short plain answer" for a chat bubble

# R3: banned promise phrases, plus the guide's "softer promises that mean the same thing".
PROMISES = re.compile(
    r"\b(guarantee[ds]?|risk[- ]free|will definitely|always earn\w*|no risk|you can'?t lose|"
    r"certain to)\b|\b100% safe\b",
    re.IGNORECASE,
)
# R2: the guide's jargon table: write "annual percentage rate (APR)" the first time.
JARGON = {
    "APR": "annual percentage rate",
    "AER": "annual equivalent rate",
    "EAR": "equivalent annual rate",
    "FX": "foreign exchange",
    "FSCS": "financial services compensation scheme",
    "CoP": "confirmation of payee",
    "APP": "authorised push payment",
}
PRODUCT_NAMES = re.compile(r"\bOrbit FX\b")  # a product name, not jargon (the guide's own example)
# R4: savings, investments or foreign exchange (incl. international transfers, paying abroad).
RISK_TOPICS = re.compile(
    r"\b(savings?|savers?|invest\w*|fx|foreign exchange|exchange rates?|currenc(y|ies)|"
    r"aer|international (transfers?|payments?)|abroad|overseas|ob-2204|ob-3310|ob-4410)\b",
    re.IGNORECASE,
)
# R6 does not apply to an honest "the documents do not say" (the guide asks for exactly that).
NOT_IN_DOCS = re.compile(
    r"documentation does not say|documents? do(es)? not (say|contain|cover)|"
    r"not in the (documentation|documents)",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A sentence ends at . ! ? (or after a citation that follows one: "... a month. [1] Next").
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?] \[\d\]))\s+(?!\[)")
_MONEY = re.compile(r"£\s?(\d[\d,]*(?:\.\d+)?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_PRODUCT = re.compile(r"\b[A-Z]{2,5}-\d{3,6}\b")  # OB-7731, ERR-4031, ISO-20022
_VERSION = re.compile(r"\bv\d+(?:\.\d+)+\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.£])\d[\d,]*(?:\.\d+)?(?=(?:am|pm)\b|[^\w%]|$)")
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)


@dataclass(frozen=True)
class RuleResult:
    """One style rule on one answer: passed is None when the rule does not apply."""

    rule: str  # one of RULE_IDS
    name: str
    passed: bool | None
    detail: str = ""


@dataclass(frozen=True)
class Scorecard:
    """Style rules, grounding and length of one answer."""

    rules: tuple[RuleResult, ...]
    citations: tuple[int, ...]
    cites_source: bool
    facts_supported: tuple[str, ...]
    facts_unsupported: tuple[str, ...]
    words: int
    sentences: int

    @property
    def facts_ok(self) -> bool:
        """At least one key fact from the retrieved chunks, and none that is not in them."""
        return bool(self.facts_supported) and not self.facts_unsupported

    @property
    def grounded(self) -> bool:
        """Cites a retrieved source and states key facts from the chunks (and no others)."""
        return self.cites_source and self.facts_ok

    @property
    def style_passed(self) -> int:
        return sum(1 for r in self.rules if r.passed)

    @property
    def style_applicable(self) -> int:
        return sum(1 for r in self.rules if r.passed is not None)

    @property
    def style_score(self) -> float:
        """Share of applicable rules passed (0..1)."""
        return self.style_passed / self.style_applicable if self.style_applicable else 1.0

    @property
    def length_ok(self) -> bool:
        return 0 < self.words <= MAX_WORDS

    def rule(self, rule_id: str) -> RuleResult:
        return next(r for r in self.rules if r.rule == rule_id)


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; a citation after the full stop stays with its sentence."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _words(text: str) -> list[str]:
    return [w for w in CITATION.sub(" ", text).split() if any(c.isalnum() for c in w)]


def citations(text: str) -> tuple[int, ...]:
    """Source numbers cited as [n] or [n, m], in order of first use."""
    found: list[int] = []
    for match in CITATION.finditer(text):
        for part in match.group(1).split(","):
            if int(part) not in found:
                found.append(int(part))
    return tuple(found)


def _number(raw: str) -> str:
    """A canonical spelling of a number: no thousands commas, no trailing decimal zeros."""
    raw = raw.replace(",", "")
    return raw.rstrip("0").rstrip(".") if "." in raw else raw


def key_facts(text: str) -> set[str]:
    """Numbers, £ amounts, % rates, product IDs and versions in a text, normalised."""
    text = _LIST_MARKER.sub(" ", CITATION.sub(" ", text))
    facts = {f"£{_number(m)}" for m in _MONEY.findall(text)}
    facts |= {f"{_number(m)}%" for m in _PERCENT.findall(text)}
    facts |= set(_PRODUCT.findall(text))
    facts |= {m.lower() for m in _VERSION.findall(text)}
    rest = _VERSION.sub(" ", _PRODUCT.sub(" ", _PERCENT.sub(" ", _MONEY.sub(" ", text))))
    facts |= {_number(m) for m in _NUMBER.findall(rest)}
    return facts


def _rule_r2(text: str) -> RuleResult:
    sentences = split_sentences(text)
    mean = sum(len(_words(s)) for s in sentences) / len(sentences) if sentences else 0.0
    plain = PRODUCT_NAMES.sub("Orbit", text)
    lower = plain.lower()
    bad = []
    for acronym, expansion in JARGON.items():
        first = re.search(rf"\b{acronym}\b", plain)
        if first and not 0 <= lower.find(expansion) < first.start():
            bad.append(acronym)
    if mean > MAX_MEAN_SENTENCE_WORDS:
        return RuleResult("R2", RULES["R2"], False, f"{mean:.0f} words per sentence")
    if bad:
        return RuleResult("R2", RULES["R2"], False, f"{', '.join(bad)} not spelled out")
    return RuleResult("R2", RULES["R2"], True, f"{mean:.0f} words per sentence")


def _clip(text: str) -> str:
    """A quoted snippet on one line (what the answer actually says, for a failed rule)."""
    return " ".join(text.split()).strip()


def check_rules(answer: str, question: str = "", n_sources: int = 0) -> tuple[RuleResult, ...]:
    """R1–R6 on one answer. R4 applies when the question or answer touches savings/FX."""
    text = answer.strip()
    promise = PROMISES.search(text)
    topic = RISK_TOPICS.search(f"{question}\n{text}")
    cited = citations(text)
    r6: bool | None = None
    r6_detail = "no documents given"
    if cited and not n_sources:  # the guide: without documents, never invent citations
        r6, r6_detail = False, f"cites {list(cited)} but no documents were given"
    elif n_sources and not cited and NOT_IN_DOCS.search(text):
        r6_detail = "says the documents do not answer"
    elif n_sources:
        r6 = bool(cited) and all(1 <= c <= n_sources for c in cited)
        r6_detail = f"cites {list(cited)} of {n_sources}" if cited else "no [n] citation"
    return (
        RuleResult("R1", RULES["R1"], text.startswith(OPENING),
                   f'starts with "{OPENING}"' if text.startswith(OPENING) else
                   f'starts "{_clip(text[:32])}…"'),
        _rule_r2(text),
        RuleResult(
            "R3",
            RULES["R3"],
            promise is None,
            f'says "{promise.group(0)}"' if promise else "no promise words",
        ),
        RuleResult(
            "R4",
            RULES["R4"],
            (RISK_LINE in text) if topic else None,
            (f'topic "{topic.group(0)}"' + ("" if RISK_LINE in text else f', no "{RISK_LINE}"'))
            if topic else "no savings/FX topic",
        ),
        RuleResult("R5", RULES["R5"], text.endswith(CLOSING),
                   "ends with the disclaimer" if text.endswith(CLOSING) else
                   f'ends "…{_clip(text[-32:])}"'),
        RuleResult("R6", RULES["R6"], r6, r6_detail),
    )


def score(
    answer: str, chunks: Sequence[str], question: str = "", context_given: bool = True
) -> Scorecard:
    """The scorecard of one answer against the chunks retrieved for its question.

    Args:
        answer: the model's answer.
        chunks: texts of the retrieved chunks, in prompt order ([1] is the first).
        question: the user's question (its own numbers are neither support nor error).
        context_given: whether the chunks were in the prompt (R6 applies only then).
    Returns:
        A Scorecard; `grounded` = cites a retrieved source and states key facts from them.
    """
    n_sources = len(chunks) if context_given else 0
    rules = check_rules(answer, question, n_sources)
    cited = citations(answer)
    asked = key_facts(question)
    said = key_facts(answer) - asked
    known = set().union(*(key_facts(c) for c in chunks)) if chunks else set()
    return Scorecard(
        rules=rules,
        citations=cited,
        cites_source=bool(n_sources) and any(1 <= c <= n_sources for c in cited),
        facts_supported=tuple(sorted(said & known)),
        facts_unsupported=tuple(sorted(said - known)),
        words=len(_words(answer)),
        sentences=len(split_sentences(answer)),
    )


@dataclass(frozen=True)
class StyleAverages:
    """Scorecards averaged over questions: rates in 0..1 (None = never applicable), mean words."""

    n: int = 0
    style_score: float | None = None
    grounded: float | None = None
    facts_ok: float | None = None
    cites_source: float | None = None
    words: float | None = None
    rules: dict[str, float | None] = field(  # rule id -> pass rate
        default_factory=lambda: dict.fromkeys(RULE_IDS)
    )

    def to_json(self) -> dict[str, object]:
        """Flat, as in results files: rule ids are keys beside the rates."""
        return {"n": self.n, "style_score": self.style_score, "grounded": self.grounded,
                "facts_ok": self.facts_ok, "cites_source": self.cites_source,
                "words": self.words, **self.rules}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> StyleAverages:
        def rate(key: str) -> float | None:
            value = raw.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(int(raw.get("n", 0) or 0), rate("style_score"), rate("grounded"),
                   rate("facts_ok"), rate("cites_source"), rate("words"),
                   {rule: rate(rule) for rule in RULE_IDS})


def average(cards: Iterable[Scorecard]) -> StyleAverages:
    """Per-cell averages for batch mode: rates in 0..1, words as a mean."""
    cards = list(cards)
    if not cards:
        return StyleAverages()
    n = len(cards)
    rules: dict[str, float | None] = {}
    for rule in RULE_IDS:
        applicable = [c.rule(rule).passed for c in cards if c.rule(rule).passed is not None]
        rules[rule] = (round(sum(bool(p) for p in applicable) / len(applicable), 4)
                       if applicable else None)
    return StyleAverages(
        n=n,
        style_score=round(sum(c.style_score for c in cards) / n, 4),
        grounded=round(sum(c.grounded for c in cards) / n, 4),
        facts_ok=round(sum(c.facts_ok for c in cards) / n, 4),
        cites_source=round(sum(c.cites_source for c in cards) / n, 4),
        words=round(sum(c.words for c in cards) / n, 4),
        rules=rules,
    )
