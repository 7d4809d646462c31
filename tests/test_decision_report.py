"""The stakeholder report with full, partial and no evidence: parses, shows numbers, offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from lib.decision.answers import Answers
from lib.decision.cost import CostInputs, calculate
from lib.decision.logic import recommend
from lib.decision.records import Evidence, NextStep
from lib.decision.report import ReportData, to_html, to_markdown
from tests.decision_fixtures import DATASET, FULL, PROMPTS, RETRIEVAL

VOID = {"meta", "br", "img", "hr", "link", "input", "col", "area", "base", "wbr", "source"}
ANSWERS = Answers(
    frozenset({"unknown_docs", "wrong_tone"}), True, True, 640, False, "weeks", True, "fine-tuning"
)
COST = CostInputs(1234, 762, 168, 2.50, 0.30, 987.65, 12, "gpt-4o -> fine-tuned gpt-4o-mini")
PARTIAL = Evidence(
    5,
    RETRIEVAL,
    None,
    DATASET,
    None,
    PROMPTS,
    (NextStep("Run a batch of the 2x2 grid", "pages/compare.py", "Compare"),),
)
MISSING = (
    NextStep("Load your documents", "pages/documents.py", "Documents"),
    NextStep("Run an evaluation", "pages/evaluate.py", "Evaluate"),
)


class Tree(HTMLParser):
    """Checks that every non-void tag closes in order; collects tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tree:
    tree = Tree()
    tree.feed(html)
    tree.close()
    assert tree.stack == [], tree.stack
    return tree


def data(evidence: Evidence, cost: CostInputs | None) -> ReportData:
    return ReportData(
        ANSWERS,
        recommend(ANSWERS, evidence),
        evidence,
        "2026-12-01 10:00 UTC",
        cost,
        (("Embedder", "minilm-test-embedder"),),
    )


def fetchable_urls(html: str) -> list[str]:
    """http(s) URLs other than XML namespace names (which browsers never fetch)."""
    no_ns = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    return re.findall(r"https?://[^\s\"')<]+", no_ns)


CASES = {
    "full": (FULL, COST),
    "partial": (PARTIAL, None),
    "none": (Evidence(missing=MISSING), None),
}


@pytest.mark.parametrize("case", CASES)
def test_html_parses_and_fetches_nothing(case):
    evidence, cost = CASES[case]
    html = to_html(data(evidence, cost))
    tree = parse(html)
    assert "script" not in tree.tags and "link" not in tree.tags and "img" not in tree.tags
    assert not [v for k, v in tree.attrs if k in ("src", "href") and not v.startswith("#")]
    assert fetchable_urls(html) == []
    assert "@page{size:A4" in html and "break-inside:avoid" in html
    text = " ".join(tree.text)
    assert "minilm-test-embedder" in text and "2026-12-01 10:00 UTC" in text
    assert recommend(ANSWERS, evidence).headline in text


def test_full_report_shows_every_number_and_three_charts():
    html = to_html(data(FULL, COST))
    text = " ".join(parse(html).text)
    for figure in (
        "0.735",
        "0.812",
        "0.612",
        "0.587",  # retrieval per method
        "9 of 12",
        "21 wins, 15 ties, 9 losses",
        "60%",
        "87%",
        "31%",  # 2x2 cells: facts, style
        "132",
        "$0.32",
        "105,744",
        "805 s",  # dataset, OpenAI estimate, training time
        "62",
        "168",
        "1,808",  # prompt tokens
        "1,234",
        "$987.65",
        "640",
    ):
        assert figure in text, figure
    r = calculate(COST)
    assert f"${r.monthly_saving_usd:,.2f}" in text
    assert f"{r.break_even_requests_per_day:,.0f} requests/day" in text
    assert html.count("<svg") == 3
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # three inline charts, no clashing clip-path ids


def test_partial_report_says_what_is_missing():
    html = to_html(data(PARTIAL, None))
    text = " ".join(parse(html).text)
    assert html.count("<svg") == 1  # retrieval only
    assert "Not measured yet: Run a batch of the 2x2 grid (page: Compare)" in text
    assert "break-even" not in text.lower()


def test_report_without_evidence_invents_nothing():
    html = to_html(data(Evidence(missing=MISSING), None))
    text = " ".join(parse(html).text)
    assert "<svg" not in html and "nDCG" not in text
    assert "Not measured yet: Run an evaluation (page: Evaluate)" in text


@pytest.mark.parametrize("case", CASES)
def test_markdown_has_the_sections_and_numbers(case):
    evidence, cost = CASES[case]
    md = to_markdown(data(evidence, cost))
    for section in (
        "# RAG, fine-tuning or both?",
        "## Recommendation",
        "## Common mistakes that apply",
        "## Next steps",
        "## Our answers",
        "## Evidence measured in RAG Lab",
        "## Settings",
    ):
        assert section in md
    assert ("## Prompt cost and break-even" in md) == (cost is not None)
    assert "| Wrong tone or style | yes | no | yes |" in md
    assert "| Labelled examples of the wanted behaviour | 640 |" in md
    assert "Treating fine-tuned knowledge as reliable" in md
    if evidence.retrieval:
        assert "| hybrid | 0.735 | 0.812 | 0.701 |" in md
    else:
        assert "nDCG" not in md
    for step in evidence.missing:
        assert f"Not measured yet: {step.what} (page: {step.label})" in md
    if cost is not None:
        assert f"${calculate(cost).monthly_saving_usd:,.2f}" in md


def test_markdown_tables_are_well_formed():
    md = to_markdown(data(FULL, COST))
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, re.M):
        widths = {line.count(" | ") for line in block.splitlines() if not line.startswith("|---")}
        assert len(widths) == 1, block
