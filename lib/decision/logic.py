"""The decision as a pure function: answers + evidence -> RAG, fine-tuning, both, or not yet.

RAG changes what the model knows at inference time; fine-tuning changes how it behaves.
Every reason names the rule (a key of RULES) it comes from, so a reader can check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lib.decision.answers import PROBLEMS, Answers
from lib.decision.records import Evidence, NextStep
from lib.finetune.dataset import FEW_EXAMPLES, GOOD_START

Verdict = Literal["rag", "fine-tuning", "both", "not-yet"]
VERDICTS: dict[Verdict, str] = {
    "rag": "RAG",
    "fine-tuning": "Fine-tuning",
    "both": "Both: RAG for facts, fine-tuning on top",
    "not-yet": "Not yet",
}
RULES = {
    "knowledge": "Facts the model must know come from retrieval, not from weights",
    "dynamic": "Information that changes needs RAG, always",
    "behaviour": "Tone, format and style are behaviour: fine-tuning's job",
    "data": "Fine-tuning needs roughly 500-2,000 good labelled pairs",
    "time": "RAG takes days; fine-tuning takes weeks plus evaluation",
    "layering": "When both apply: RAG for facts, fine-tuning only where behaviour is the gap",
    "unclear": "No gap named yet: collect failing examples before choosing",
    "measured-retrieval": "Measured: retrieval quality per method",
    "measured-grid": "Measured: the 2x2 grid (facts with RAG, style with fine-tuning)",
}
# Thresholds on the 2x2 batch. The sample batches have ~10 questions, so a gap under ten
# points is one answer: not a difference worth deciding on.
FACT_GAIN = 0.10  # RAG on states the expected fact this much more often than RAG off
STYLE_GAIN = 0.10  # fine-tuned cells pass this much more of the style rules than base ones
STYLE_OK = 0.90  # base + RAG already passes this share of style rules: behaviour is no gap
# nDCG@10 below this means the right document is often missing from the top results, so a
# RAG answer has nothing right to quote (BEIR baselines sit at 0.3-0.7; ours at 0.6-0.9).
WEAK_RETRIEVAL = 0.5
RAG_CELLS, OFF_CELLS = ("base_rag_on", "ft_rag_on"), ("base_rag_off", "ft_rag_off")
FT_CELLS, BASE_CELLS = ("ft_rag_off", "ft_rag_on"), ("base_rag_off", "base_rag_on")


@dataclass(frozen=True)
class Reason:
    """One plain sentence and the rule it comes from."""

    rule: str  # a key of RULES
    text: str


@dataclass(frozen=True)
class Mistake:
    """A common mistake that applies to these answers, why it applies, and what to do instead."""

    id: str  # a key of MISTAKES
    title: str
    because: str
    advice: str


MISTAKES = {
    "advanced_first": (
        "Starting with fine-tuning because it sounds more advanced",
        "Start with what the gap needs; fine-tuning is the slower, costlier tool.",
    ),
    "ft_knowledge": (
        "Treating fine-tuned knowledge as reliable",
        "A fine-tuned model still guesses facts: keep facts in RAG, with citations.",
    ),
    "data_cost": (
        "Underestimating the cost of collecting labelled data",
        "Budget the time to write and review 500-2,000 real examples before training.",
    ),
    "bad_retrieval": (
        "RAG with bad retrieval",
        "Measure retrieval first; exact IDs need keyword or hybrid search.",
    ),
}


@dataclass(frozen=True)
class Recommendation:
    """The verdict, its reasons, the mistakes that apply and what to do next."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    mistakes: tuple[Mistake, ...] = ()
    next_steps: tuple[NextStep, ...] = ()
    collect: str = ""  # for "not-yet": what to collect first

    @property
    def headline(self) -> str:
        title = VERDICTS[self.verdict]
        return f"{title}: collect {self.collect} first" if self.collect else title

    @property
    def rules(self) -> list[str]:
        return [r.rule for r in self.reasons]


def _needs(answers: Answers) -> tuple[bool, bool]:
    """(knowledge gap, behaviour gap) from the questions and the checklist."""
    kinds = {p.kind for p in PROBLEMS if p.id in answers.problems}
    knowledge = bool(answers.needs_facts or answers.dynamic) or bool(kinds & {"knowledge", "mixed"})
    behaviour = bool(answers.needs_behaviour) or "behaviour" in kinds
    return knowledge, behaviour


def _data_ok(answers: Answers) -> tuple[bool, str]:
    """Whether the labelled data supports fine-tuning, and the sentence that says so."""
    n = answers.labelled_examples
    if n is None:
        return (
            False,
            "You have not said how many labelled examples you have; fine-tuning needs 500-2,000.",
        )
    if answers.synthetic:
        return (
            False,
            f"Your {n:,} examples are mostly synthetic: usually not good enough to train on.",
        )
    if n < FEW_EXAMPLES:
        return False, f"{n:,} labelled examples: under a few hundred, fine-tuning rarely helps."
    if n < GOOD_START:
        return False, f"{n:,} labelled examples: short of the 500 that are a reasonable start."
    return True, f"{n:,} good labelled examples: enough to start fine-tuning."


def _grid_reasons(ev: Evidence, knowledge: bool, behaviour: bool) -> list[Reason]:
    grid = ev.grid
    if grid is None:
        return []
    out = []
    on, off = grid.mean("facts", RAG_CELLS), grid.mean("facts", OFF_CELLS)
    if knowledge and on is not None and off is not None:
        fixed = "fixed" if on - off >= FACT_GAIN else "did not clearly fix"
        out.append(
            Reason(
                "measured-grid",
                f"RAG {fixed} facts here: the expected fact in {on:.0%} of "
                f"answers with RAG on vs {off:.0%} with it off ({grid.n_questions} questions).",
            )
        )
    ft, base = grid.mean("style", FT_CELLS), grid.mean("style", BASE_CELLS)
    if behaviour and ft is not None and base is not None:
        fixed = "fixed" if ft - base >= STYLE_GAIN else "did not clearly fix"
        out.append(
            Reason(
                "measured-grid",
                f"Fine-tuning {fixed} behaviour here: style rules passed "
                f"{ft:.0%} fine-tuned vs {base:.0%} base.",
            )
        )
    return out


def _behaviour_is_no_gap(ev: Evidence) -> float | None:
    """Base + RAG's measured style pass rate when it is already high enough, else None."""
    cell = ev.grid.cell("base_rag_on") if ev.grid else None
    return cell.style if cell and cell.style is not None and cell.style >= STYLE_OK else None


def _retrieval_reasons(ev: Evidence) -> list[Reason]:
    r = ev.retrieval
    if r is None:
        return []
    out = [
        Reason(
            "measured-retrieval",
            f"Best retrieval on '{r.dataset}': {r.best.method} with "
            f"nDCG@{r.k} {r.best.ndcg:.3f} over {r.n_queries} queries.",
        )
    ]
    if r.hybrid_beats_single is not None:
        verb = "beats" if r.hybrid_beats_single else "does not beat"
        detail = (
            f" (wins {r.hybrid_wins}, ties {r.hybrid_ties}, loses {r.hybrid_losses} queries)"
            if r.hybrid_wins is not None
            else ""
        )
        out.append(Reason("measured-retrieval", f"Hybrid {verb} the best single method{detail}."))
    if r.id_queries:
        out.append(
            Reason(
                "measured-retrieval",
                f"Keyword search wins {r.keyword_wins_ids} of "
                f"{r.id_queries} exact-ID queries (vector wins {r.vector_wins_ids}).",
            )
        )
    return out


def _mistakes(
    answers: Answers,
    ev: Evidence,
    verdict: Verdict,
    knowledge: bool,
    behaviour: bool,
    data_ok: bool,
) -> tuple[Mistake, ...]:
    """Each mistake rule that applies, with the fact that makes it apply."""
    found: list[tuple[str, str]] = []
    if answers.planned == "fine-tuning" and verdict != "fine-tuning":
        found.append(
            (
                "advanced_first",
                f"You planned to start with fine-tuning; the answers point to "
                f"{VERDICTS[verdict].split(':')[0]}.",
            )
        )
    if knowledge and (answers.planned == "fine-tuning" or verdict == "both"):
        found.append(("ft_knowledge", "You need facts, and fine-tuning is on the table."))
    if behaviour and not data_ok:
        have = answers.labelled_examples
        found.append(
            (
                "data_cost",
                "You want behaviour changes with "
                f"{'an unknown number of' if have is None else f'{have:,}'} labelled examples.",
            )
        )
    if verdict in ("rag", "both"):
        r = ev.retrieval
        if r is None:
            found.append(("bad_retrieval", "Retrieval has not been measured on your queries yet."))
        elif r.best.ndcg < WEAK_RETRIEVAL:
            found.append(
                (
                    "bad_retrieval",
                    f"Measured retrieval is weak (best nDCG@{r.k} {r.best.ndcg:.2f}).",
                )
            )
        elif r.keyword_wins_ids > r.vector_wins_ids:
            found.append(
                (
                    "bad_retrieval",
                    f"Keyword search wins {r.keyword_wins_ids} of {r.id_queries} "
                    "exact-ID queries: vector-only search would miss them.",
                )
            )
    return tuple(Mistake(m, *MISTAKES[m][:1], because, MISTAKES[m][1]) for m, because in found)


def _question_steps(answers: Answers) -> list[NextStep]:
    unanswered = 5 - answers.answered
    if not unanswered:
        return []
    return [
        NextStep(
            f"Answer the {unanswered} open question{'s' * (unanswered > 1)}",
            "pages/decide.py",
            "Decision guide",
        )
    ]


def recommend(answers: Answers, evidence: Evidence) -> Recommendation:
    """The recommendation for these answers and this evidence (pure: no I/O)."""
    knowledge, behaviour = _needs(answers)
    data_ok, data_text = _data_ok(answers)
    time_ok = answers.time_budget != "days"
    steps = [*_question_steps(answers), *evidence.missing]
    if not knowledge and not behaviour:
        reason = Reason(
            "unclear",
            "Nothing you checked or answered points to a knowledge or a behaviour gap yet.",
        )
        collect = (
            "20-50 real questions the model gets wrong, each noted as a wrong fact or wrong style"
        )
        return Recommendation("not-yet", (reason,), (), tuple(steps), collect)
    reasons: list[Reason] = []
    if answers.dynamic:
        reasons.append(
            Reason(
                "dynamic",
                "Your information changes, so it has to be looked up at "
                "answer time: retrained weights are stale the day facts change.",
            )
        )
    if knowledge:
        reasons.append(
            Reason(
                "knowledge",
                "You need the model to state your facts: retrieval puts "
                "them in the prompt, with sources to check.",
            )
        )
    ft_ready = behaviour and data_ok and time_ok
    if behaviour:
        reasons.append(
            Reason(
                "behaviour",
                "You want a different tone, format or style: that is "
                "behaviour, which fine-tuning changes.",
            )
        )
        reasons.append(Reason("data", data_text))
        if not time_ok:
            reasons.append(
                Reason(
                    "time",
                    "Your budget is days: fine-tuning takes weeks plus "
                    "evaluation; put the style rules in the prompt meanwhile.",
                )
            )
    if knowledge and ft_ready and (style := _behaviour_is_no_gap(evidence)) is not None:
        reasons.append(
            Reason(
                "layering",
                f"Base model + RAG already passes {style:.0%} of the style "
                "rules here: behaviour is not the gap, so no fine-tuning on top yet.",
            )
        )
        ft_ready = False
    elif knowledge and ft_ready:
        reasons.append(
            Reason(
                "layering",
                "Both apply: RAG for facts first, then fine-tuning on top "
                "for behaviour, kept only if the 2x2 grid shows it fixes the style.",
            )
        )
    verdict: Verdict
    collect = ""
    if knowledge:
        verdict = "both" if ft_ready else "rag"
    elif ft_ready:
        verdict = "fine-tuning"
    else:
        verdict = "not-yet"
        wants = []
        if not data_ok:
            wants.append(f"at least {GOOD_START} real labelled examples of the wanted answers")
        if not time_ok:
            wants.append("a budget of weeks for training and evaluation")
        collect = " and ".join(wants)
    if behaviour and not ft_ready and not data_ok:
        steps.append(
            NextStep(
                f"Collect {GOOD_START}+ real examples (thumbs and corrections in Chat "
                "feed the dataset)",
                "pages/finetune.py",
                "Fine-tune",
            )
        )
    reasons += _grid_reasons(evidence, knowledge, behaviour)
    if verdict in ("rag", "both"):
        reasons += _retrieval_reasons(evidence)
    mistakes = _mistakes(answers, evidence, verdict, knowledge, behaviour, data_ok)
    return Recommendation(verdict, tuple(reasons), mistakes, tuple(steps), collect)
