"""Batch mode of the 2×2 grid: many questions as a background job, results saved.

Questions are (id, text, expected fact) triples; the expected fact may be "". What finished
is saved to `<data dir>/results/compare.json` (lib.compare.results), even when cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.compare.grid import (
    PRESETS,
    Cell,
    CellResult,
    GridContext,
    grounded_questions,
    iter_grid,
    prepare,
)
from lib.compare.results import (
    BatchResults,
    BatchSettings,
    CellRow,
    GridSummary,
    QuestionResult,
    save_results,
    summarise,
)
from lib.finetune.registry import now_iso
from lib.jobs import Job
from lib.samples import labelled_queries
from lib.types import RagLabError


def question_sets() -> dict[str, list[tuple[str, str, str]]]:
    """The sample question sets a batch can run, by name; empty sets are left out."""
    sets = {
        "Grounded questions (with expected facts)": grounded_questions()
        or [(f"preset-{i}", p.question, p.fact) for i, p in enumerate(PRESETS)],
        "Labelled search queries": [(q.id, q.text, "") for q in labelled_queries()],
    }
    return {name: questions for name, questions in sets.items() if questions}


@dataclass(frozen=True)
class BatchProgress:
    """A batch's part of its snapshot: the averages so far and, once saved, the file."""

    summary: GridSummary | None = None
    path: Path | None = None


class BatchRun(Job[BatchProgress]):
    """Runs the grid over (id, question, expected fact) triples in a thread."""

    kind = "compare-batch"
    busy = "A batch comparison is already running: wait for it or cancel it."

    def __init__(self, questions: Sequence[tuple[str, str, str]], grid: Sequence[Cell],
                 ctx: GridContext):
        super().__init__(ctx.data_dir, "Batch comparison", len(questions), state="running")
        self.questions, self.grid, self.ctx = list(questions), list(grid), ctx
        self.rows: list[list[CellResult]] = []
        self.path: Path | None = None
        self._stop = threading.Event()

    def launch(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="compare-batch").start()

    def cancel(self) -> None:
        """Stop after the current cell; what finished so far is still saved."""
        self._stop.set()

    def detail(self) -> BatchProgress:
        summary = summarise(self.rows, self.grid) if self.rows else None
        return BatchProgress(summary, self.path)

    def _run(self) -> None:
        try:
            for _qid, text, expected in self.questions:
                if self._stop.is_set():
                    break
                done: dict[int, CellResult] = {}
                for i, result in iter_grid(text, self.grid, self.ctx, prepare(text, self.ctx),
                                           expected):
                    done[i] = result
                    if self._stop.is_set():
                        break
                if len(done) < len(self.grid):
                    break
                with self.lock:
                    self.rows.append([done[i] for i in range(len(self.grid))])
                    self.done = len(self.rows)
            path = save_results(self.ctx.data_dir, self.results())
            with self.lock:
                self.path = path
            self.end("cancelled" if self._stop.is_set() else "done")
        except RagLabError as err:
            self.end("failed", err.reason)
        except Exception as exc:  # noqa: BLE001 (a thread must report, never die silently)
            self.end("failed", f"{exc.__class__.__name__}: {exc}"[:300])

    def results(self) -> BatchResults:
        """The compare.json record of what finished so far."""
        with self.lock:
            rows = list(self.rows)
        return BatchResults(
            created_at=now_iso(),
            base=self.grid[0].spec.label,
            fine_tuned=self.grid[2].spec.label,
            settings=BatchSettings(self.ctx.settings.method, self.ctx.settings.k,
                                   self.ctx.settings.max_answer_tokens),
            summary=summarise(rows, self.grid),
            questions=tuple(
                QuestionResult(qid, text, expected, {r.key: CellRow.of(r) for r in row})
                for (qid, text, expected), row in zip(self.questions, rows)
            ),
        )
