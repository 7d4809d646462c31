"""The decision rules, table-driven: every branch of recommend() and every mistake rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lib.decision.answers import Answers
from lib.decision.logic import FACT_GAIN, MISTAKES, RULES, STYLE_OK, WEAK_RETRIEVAL, recommend
from lib.decision.records import CellScore, Evidence, GridEvidence, MethodScore, NextStep
from lib.finetune.dataset import FEW_EXAMPLES, GOOD_START
from tests.decision_fixtures import FULL, GRID, RETRIEVAL

NONE = Evidence()  # nothing measured
READY = {"labelled_examples": GOOD_START, "time_budget": "weeks"}  # fine-tuning feasible
GOOD_RETRIEVAL = replace(RETRIEVAL, keyword_wins_ids=1, vector_wins_ids=3)  # no mistake trigger


def grid(style_base_on: float = 0.42) -> GridEvidence:
    """The fixture grid with base + RAG's style pass rate replaced."""
    cells = tuple(
        replace(c, style=style_base_on) if c.key == "base_rag_on" else c for c in GRID.cells
    )
    return replace(GRID, cells=cells)


# (case, answers, evidence, verdict, rules that must be among the reasons)
BRANCHES = [
    ("nothing answered", Answers(), NONE, "not-yet", {"unclear"}),
    (
        "answers name no gap",
        Answers(needs_facts=False, needs_behaviour=False, dynamic=False),
        NONE,
        "not-yet",
        {"unclear"},
    ),
    ("facts only", Answers(needs_facts=True), NONE, "rag", {"knowledge"}),
    ("dynamic only", Answers(dynamic=True), NONE, "rag", {"dynamic", "knowledge"}),
    (
        "checklist: unknown docs",
        Answers(problems=frozenset({"unknown_docs"})),
        NONE,
        "rag",
        {"knowledge"},
    ),
    (
        "checklist: factual errors (mixed)",
        Answers(problems=frozenset({"factual_errors"})),
        NONE,
        "rag",
        {"knowledge"},
    ),
    (
        "behaviour, data and time ok",
        Answers(needs_behaviour=True, **READY),
        NONE,
        "fine-tuning",
        {"behaviour", "data"},
    ),
    (
        "checklist: wrong tone, ready",
        Answers(problems=frozenset({"wrong_tone"}), **READY),
        NONE,
        "fine-tuning",
        {"behaviour"},
    ),
    (
        "behaviour, too few examples",
        Answers(needs_behaviour=True, labelled_examples=FEW_EXAMPLES - 1, time_budget="weeks"),
        NONE,
        "not-yet",
        {"behaviour", "data"},
    ),
    (
        "behaviour, a few hundred examples",
        Answers(needs_behaviour=True, labelled_examples=GOOD_START - 1, time_budget="weeks"),
        NONE,
        "not-yet",
        {"data"},
    ),
    (
        "behaviour, synthetic examples",
        Answers(needs_behaviour=True, synthetic=True, **READY),
        NONE,
        "not-yet",
        {"data"},
    ),
    (
        "behaviour, examples not answered",
        Answers(needs_behaviour=True, time_budget="weeks"),
        NONE,
        "not-yet",
        {"data"},
    ),
    (
        "behaviour, budget of days",
        Answers(needs_behaviour=True, labelled_examples=GOOD_START, time_budget="days"),
        NONE,
        "not-yet",
        {"time"},
    ),
    (
        "both, ready",
        Answers(needs_facts=True, needs_behaviour=True, **READY),
        NONE,
        "both",
        {"knowledge", "behaviour", "layering"},
    ),
    (
        "both, but base + RAG already has the style",
        Answers(needs_facts=True, needs_behaviour=True, **READY),
        Evidence(grid=grid(STYLE_OK)),
        "rag",
        {"layering", "measured-grid"},
    ),
    (
        "both, base + RAG style below the bar",
        Answers(needs_facts=True, needs_behaviour=True, **READY),
        Evidence(grid=grid(STYLE_OK - 0.01)),
        "both",
        {"layering", "measured-grid"},
    ),
    (
        "facts and behaviour, too few examples",
        Answers(needs_facts=True, needs_behaviour=True, labelled_examples=50),
        NONE,
        "rag",
        {"knowledge", "data"},
    ),
    (
        "facts, measured retrieval",
        Answers(needs_facts=True),
        FULL,
        "rag",
        {"knowledge", "measured-retrieval", "measured-grid"},
    ),
]


@pytest.mark.parametrize(
    ("answers", "evidence", "verdict", "rules"),
    [b[1:] for b in BRANCHES],
    ids=[b[0] for b in BRANCHES],
)
def test_every_branch(answers, evidence, verdict, rules):
    rec = recommend(answers, evidence)
    assert rec.verdict == verdict
    assert rules <= set(rec.rules), rec.reasons
    assert all(r.rule in RULES and r.text.endswith(".") for r in rec.reasons)
    assert (verdict == "not-yet") == bool(rec.collect)
    assert rec.headline.startswith(
        {"rag": "RAG", "fine-tuning": "Fine-tuning", "both": "Both", "not-yet": "Not yet: collect"}[
            verdict
        ]
    )


def test_not_yet_names_what_to_collect():
    few = recommend(Answers(needs_behaviour=True, labelled_examples=120, time_budget="days"), NONE)
    assert f"{GOOD_START} real labelled examples" in few.collect
    assert "weeks" in few.collect
    assert any(s.page == "pages/finetune.py" for s in few.next_steps)


# (case, answers, evidence, mistakes expected exactly)
MISTAKE_CASES = [
    (
        "fine-tuning planned for a facts gap",
        Answers(needs_facts=True, planned="fine-tuning"),
        Evidence(retrieval=GOOD_RETRIEVAL),
        {"advanced_first", "ft_knowledge"},
    ),
    (
        "fine-tuning planned and right",
        Answers(needs_behaviour=True, planned="fine-tuning", **READY),
        NONE,
        set(),
    ),
    (
        "both: fine-tuned facts are not reliable",
        Answers(needs_facts=True, needs_behaviour=True, **READY),
        Evidence(retrieval=GOOD_RETRIEVAL),
        {"ft_knowledge"},
    ),
    (
        "behaviour with too little data",
        Answers(needs_behaviour=True, labelled_examples=40),
        NONE,
        {"data_cost"},
    ),
    (
        "behaviour, unknown amount of data",
        Answers(needs_behaviour=True, time_budget="weeks"),
        NONE,
        {"data_cost"},
    ),
    ("RAG with unmeasured retrieval", Answers(needs_facts=True), NONE, {"bad_retrieval"}),
    (
        "RAG with weak retrieval",
        Answers(needs_facts=True),
        Evidence(
            retrieval=replace(
                GOOD_RETRIEVAL, methods=(MethodScore("vector", WEAK_RETRIEVAL - 0.01, 0.5, 0.4),)
            )
        ),
        {"bad_retrieval"},
    ),
    (
        "RAG where keyword wins the exact IDs",
        Answers(needs_facts=True),
        Evidence(retrieval=RETRIEVAL),
        {"bad_retrieval"},
    ),
    (
        "RAG with good retrieval",
        Answers(needs_facts=True, planned="rag"),
        Evidence(retrieval=GOOD_RETRIEVAL),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("answers", "evidence", "expected"),
    [m[1:] for m in MISTAKE_CASES],
    ids=[m[0] for m in MISTAKE_CASES],
)
def test_every_mistake_rule(answers, evidence, expected):
    rec = recommend(answers, evidence)
    assert {m.id for m in rec.mistakes} == expected
    for m in rec.mistakes:
        assert m.title == MISTAKES[m.id][0] and m.because and m.advice == MISTAKES[m.id][1]


def test_every_mistake_rule_is_covered():
    covered = set().union(*(m[3] for m in MISTAKE_CASES))
    assert covered == set(MISTAKES)


def test_the_measured_reasons_quote_the_numbers():
    rec = recommend(Answers(needs_facts=True, needs_behaviour=True, **READY), FULL)
    text = " ".join(r.text for r in rec.reasons)
    assert "0.735" in text  # hybrid's nDCG@10
    assert "wins 21, ties 15, loses 9" in text
    assert "9 of 12 exact-ID queries" in text
    assert "55% of answers with RAG on vs 10%" in text  # (0.6 + 0.5) / 2 vs (0.1 + 0.1) / 2
    assert "85% fine-tuned vs 36% base" in text


@pytest.mark.parametrize(("on", "fixed"), [(0.1 + FACT_GAIN + 0.01, True), (0.1, False)])
def test_grid_says_whether_rag_fixed_facts(on, fixed):
    cells = tuple(replace(c, facts=on if c.key.endswith("rag_on") else 0.1) for c in GRID.cells)
    rec = recommend(Answers(needs_facts=True), Evidence(grid=replace(GRID, cells=cells)))
    grid_reason = next(r.text for r in rec.reasons if r.rule == "measured-grid")
    assert grid_reason.startswith("RAG fixed" if fixed else "RAG did not clearly fix")


def test_hybrid_that_loses_is_said_to_lose():
    worse = replace(
        RETRIEVAL,
        methods=(
            MethodScore("keyword", 0.7, 0.7, 0.7),
            MethodScore("vector", 0.6, 0.6, 0.6),
            MethodScore("hybrid", 0.65, 0.6, 0.6),
        ),
    )
    rec = recommend(Answers(needs_facts=True), Evidence(retrieval=worse))
    assert any("Hybrid does not beat" in r.text for r in rec.reasons)


def test_next_steps_carry_open_questions_and_missing_evidence():
    missing = (NextStep("Run an evaluation", "pages/evaluate.py", "Evaluate"),)
    rec = recommend(Answers(needs_facts=True), Evidence(missing=missing))
    assert rec.next_steps[0] == NextStep(
        "Answer the 4 open questions", "pages/decide.py", "Decision guide"
    )
    assert missing[0] in rec.next_steps
    done = Answers(
        needs_facts=True,
        needs_behaviour=False,
        labelled_examples=0,
        time_budget="days",
        dynamic=True,
    )
    assert not any(s.page == "pages/decide.py" for s in recommend(done, NONE).next_steps)


def test_the_function_is_pure():
    answers = Answers(needs_facts=True, needs_behaviour=True, **READY)
    assert recommend(answers, FULL) == recommend(answers, FULL)


def test_unknown_problem_is_refused_with_the_supported_list():
    with pytest.raises(ValueError, match="Supported"):
        Answers(problems=frozenset({"bad_vibes"}))


def test_grid_cells_without_rates_are_skipped():
    empty = GridEvidence("", "a", "b", 0, (CellScore("base_rag_on", "x", None, None, None, 0),))
    rec = recommend(Answers(needs_facts=True), Evidence(grid=empty))
    assert "measured-grid" not in rec.rules
