"""The 2×2 grid: base vs fine-tuned, each with RAG off and on, scored by code.

Every cell answers through `lib.generation.rag.ask`, exactly as the Chat page would (same prompts,
retrieval, abstention, stop words; the local base model's guided citation step too).
The question's retrieval is also the reference the RAG-off cells are scored against
(did they state the documents' facts without seeing them?).
Batch mode (lib.compare.batch) runs it over many questions; lib.compare.results saves them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lib.compare.style import Scorecard, key_facts, score
from lib.config import SAMPLE_DOCS_DIR
from lib.generation.chat_model import ChatModel
from lib.generation.models import ModelSpec
from lib.generation.rag import AnswerStream, RagSettings, Retrieval, ask, retrieve, source_header
from lib.types import Grounding, ProviderError, RagLabError

GROUNDED_QUESTIONS = SAMPLE_DOCS_DIR / "eval" / "grounded_questions.jsonl"


@dataclass(frozen=True)
class Preset:
    """A question from the sample story, with the fact the documents give (and a stale one)."""

    question: str
    fact: str
    stale: str = ""
    note: str = ""
    short: str = ""  # a button label that fits a fifth of the page


PRESETS = (
    Preset(
        "How much is the Orbit Metal monthly plan fee?",
        "£12.99",
        "£14.99",
        "cut from £14.99 on 1 March 2026",
        "Orbit Metal fee",
    ),
    Preset(
        "What interest rate does Orbit Saver pay?",
        "3.85%",
        "4.10%",
        "lowered from 4.10% AER on 1 February 2026",
        "Orbit Saver rate",
    ),
    Preset(
        "What is the Orbit FX margin for major currencies?",
        "0.45%",
        "0.55%",
        "cut from 0.55% on 15 January 2026",
        "Orbit FX margin",
    ),
    Preset(
        "What is the late payment fee on the Orbit Credit Builder card?",
        "£12",
        "£15",
        "cut from £15 on 3 November 2025",
        "Credit Builder late fee",
    ),
    Preset(
        "What rate does a new Orbit Fixed Saver 12M pay?",
        "4.20%",
        "4.45%",
        "changed from 4.45% AER on 15 March 2026",
        "Fixed Saver 12M rate",
    ),
)


def preset_fact(question: str) -> str:
    """The fact the documents give for a preset question ("" for any other question)."""
    return next((p.fact for p in PRESETS if p.question == question), "")


def grounded_questions(path: Path = GROUNDED_QUESTIONS) -> list[tuple[str, str, str]]:
    """(id, question, expected fact) from the sample set's grounded questions ([] if absent)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    rows = [json.loads(line) for line in lines if line.strip()]
    return [(str(r["_id"]), str(r["question"]), str(r.get("expected_fact", ""))) for r in rows]


def expected_present(expected: str, text: str) -> bool:
    """The expected fact is in the answer: its numbers/IDs, or else all its content words."""
    facts = key_facts(expected)
    if facts:
        return facts <= key_facts(text)
    words = [w for w in re.findall(r"[a-z]+", expected.lower()) if len(w) > 3]
    return all(re.search(rf"\b{w}\b", text.lower()) for w in words)


@dataclass(frozen=True)
class Cell:
    key: str  # "base_rag_off" ...
    label: str
    model: ChatModel
    rag: bool

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


@dataclass
class CellResult:
    """One cell's answer, latency and scorecard (or the one-line error)."""

    key: str
    label: str
    text: str = ""
    seconds: float = 0.0
    ttft_s: float = 0.0
    card: Scorecard | None = None
    expected_found: bool | None = None
    error: str = ""
    abstained: bool = False
    sources: tuple[str, ...] = ()  # the source headers a RAG-on cell was shown
    grounding: Grounding | None = None  # RAG-on answers: every figure checked (rag.ask)


def cells(base: ChatModel, tuned: ChatModel) -> list[Cell]:
    """The four cells in reading order: base off, base on, tuned off, tuned on."""
    return [
        Cell("base_rag_off", f"{base.label} · RAG off", base, False),
        Cell("base_rag_on", f"{base.label} · RAG on", base, True),
        Cell("ft_rag_off", f"{tuned.label} · RAG off", tuned, False),
        Cell("ft_rag_on", f"{tuned.label} · RAG on", tuned, True),
    ]


@dataclass
class GridContext:
    """What every cell needs: the index, where results are saved, the Chat's RAG settings."""

    index: Any
    data_dir: Path
    settings: RagSettings = field(default_factory=lambda: RagSettings(max_answer_tokens=200))


def prepare(question: str, ctx: GridContext) -> Retrieval:
    """Retrieve once for the question: the reference every cell is scored against."""
    if not question.strip():
        raise RagLabError("Type a question first.")
    if ctx.index is None or getattr(ctx.index, "n_chunks", 1) == 0:
        raise RagLabError(
            "No documents are indexed: load the sample documents on the Documents page."
        )
    return retrieve(ctx.index, question, ctx.settings)


def start_cell(cell: Cell, question: str, ctx: GridContext) -> AnswerStream:
    """Start one cell as the Chat page would (iterate the result for text deltas)."""
    settings = replace(ctx.settings, rag=cell.rag)
    return ask(question, ctx.index, cell.model, settings)


def result_of(cell: Cell, question: str, retrieval: Retrieval, stream: AnswerStream,
              seconds: float, expected: str = "") -> CellResult:
    """Score a finished stream: RAG-on cells against the sources they saw."""
    answer = stream.answer
    assert answer is not None, "iterate the stream first"
    seen = Retrieval(answer.sources, retrieval.confidence, 0.0) if cell.rag else retrieval
    result = finish_cell(cell, question, seen, answer.text, seconds, answer.timings.ttft_s,
                         expected)
    result.abstained = answer.abstained
    if cell.rag:
        result.sources = tuple(source_header(n, h) for n, h in enumerate(answer.sources, 1))
    result.grounding = answer.grounding
    return result


def finish_cell(
    cell: Cell,
    question: str,
    retrieval: Retrieval,
    text: str,
    seconds: float,
    ttft_s: float = 0.0,
    expected: str = "",
) -> CellResult:
    """Score a finished answer against the chunks retrieved for the question."""
    chunks = [h.chunk.text for h in retrieval.hits]
    card = score(text, chunks, question, context_given=cell.rag)
    found = expected_present(expected, text) if expected else None
    return CellResult(cell.key, cell.label, text, seconds, ttft_s, card, found)


def _drain(stream: AnswerStream) -> None:
    for _ in stream:
        pass


def run_cell(cell: Cell, question: str, retrieval: Retrieval, ctx: GridContext,
             expected: str = "", consume: Callable[[AnswerStream], object] = _drain) -> CellResult:
    """One cell; `consume` reads the text deltas (a page streams them); errors stay in the cell."""
    started = time.perf_counter()
    try:
        stream = start_cell(cell, question, ctx)
        consume(stream)
    except ProviderError as err:
        return CellResult(cell.key, cell.label, error=err.reason,
                          seconds=time.perf_counter() - started)
    return result_of(cell, question, retrieval, stream, time.perf_counter() - started, expected)


def execution_order(grid: Sequence[Cell]) -> list[int]:
    """Run base and fine-tuned alternately: base off, tuned off, base on, tuned on.

    The local server reuses its prompt cache only between requests with the same adapter;
    a reused cache changes the float maths enough to flip the 135M model's greedy choices
    (measured: the same prompt answered differently after a RAG-off request). Switching
    the adapter on every cell makes each cell a fresh, reproducible computation.
    """
    return [0, 2, 1, 3] if len(grid) == 4 else list(range(len(grid)))


def iter_grid(question: str, grid: Sequence[Cell], ctx: GridContext, retrieval: Retrieval,
              expected: str = "",
              consume: Callable[[int, AnswerStream], object] | None = None,
              ) -> Iterator[tuple[int, CellResult]]:
    """(cell index, result) in execution order, each as it finishes (one local server, 2 cores)."""
    for i in execution_order(grid):
        reader = _drain if consume is None else (lambda stream, i=i: consume(i, stream))
        yield i, run_cell(grid[i], question, retrieval, ctx, expected, reader)


def run_grid(question: str, grid: Sequence[Cell], ctx: GridContext,
             expected: str = "") -> list[CellResult]:
    """All four cells for one question, in reading order."""
    done = dict(iter_grid(question, grid, ctx, prepare(question, ctx), expected))
    return [done[i] for i in range(len(grid))]
