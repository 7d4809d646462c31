"""Batch mode of the 2×2 grid: many questions in a background thread, averages saved.

The result file `<data dir>/results/compare.json` is what the decision guide reads:
{"created_at", "base", "fine_tuned", "n_questions", "settings", "cells": {cell key:
averages}, "questions": [{"id", "text", "expected", "cells": {cell key: scorecard row}}]}.
Questions are (id, text, expected fact) triples; the expected fact may be "".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lib.compare.grid import (
    Cell,
    CellResult,
    GridContext,
    execution_order,
    prepare,
    run_cell,
    save_results,
    summarise,
)
from lib.finetune.registry import now_iso
from lib.types import RagLabError


class BatchRun:
    """Runs the grid over (id, question, expected fact) triples; read progress with `snapshot()`."""

    def __init__(
        self,
        questions: Sequence[tuple[str, str, str]],
        grid: Sequence[Cell],
        ctx: GridContext,
    ):
        self.questions, self.grid, self.ctx = list(questions), list(grid), ctx
        self.rows: list[list[CellResult]] = []
        self.state = "running"
        self.error = ""
        self.path: Path | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="compare-batch")

    def start(self) -> BatchRun:
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop after the current cell; what finished so far is still saved."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> str:
        self._thread.join(timeout)
        return self.state

    @property
    def running(self) -> bool:
        return self.state == "running"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "done": len(self.rows),
                "total": len(self.questions),
                "error": self.error,
                "path": self.path,
                "summary": summarise(self.rows, self.grid) if self.rows else {},
                "elapsed": time.monotonic() - self.started,
            }

    def _run(self) -> None:
        try:
            for _qid, text, expected in self.questions:
                retrieval = prepare(text, self.ctx)
                done: dict[int, CellResult] = {}
                for i in execution_order(self.grid):
                    if self._stop.is_set():
                        break
                    done[i] = run_cell(self.grid[i], text, retrieval, self.ctx, expected)
                if len(done) < len(self.grid):
                    break
                row = [done[i] for i in range(len(self.grid))]
                with self._lock:
                    self.rows.append(row)
            self.path = save_results(self.ctx.data_dir, self.payload())
            final = "cancelled" if self._stop.is_set() else "done"
        except RagLabError as err:
            self.error, final = err.reason, "failed"
        except Exception as exc:  # noqa: BLE001 (a thread must report, never die silently)
            self.error, final = f"{exc.__class__.__name__}: {exc}"[:300], "failed"
        with self._lock:
            self.state = final

    def payload(self) -> dict[str, Any]:
        """The compare.json document for what finished so far."""
        return {
            "created_at": now_iso(),
            "base": self.grid[0].spec.label,
            "fine_tuned": self.grid[2].spec.label,
            "n_questions": len(self.rows),
            "settings": {
                "method": self.ctx.settings.method,
                "k": self.ctx.settings.k,
                "max_tokens": self.ctx.settings.max_answer_tokens,
            },
            "cells": summarise(self.rows, self.grid),
            "questions": [
                {
                    "id": qid,
                    "text": text,
                    "expected": expected,
                    "cells": {r.key: {**r.row(), "answer": r.text} for r in row},
                }
                for (qid, text, expected), row in zip(self.questions, self.rows)
            ],
        }


_RUNS: dict[str, BatchRun] = {}
_RUNS_LOCK = threading.Lock()


def start_batch(
    questions: Sequence[tuple[str, str, str]], grid: Sequence[Cell], ctx: GridContext
) -> BatchRun:
    """One batch at a time per data dir (the local model serves one request at a time)."""
    key = str(Path(ctx.data_dir).resolve())
    with _RUNS_LOCK:
        current = _RUNS.get(key)
        if current is not None and current.running:
            raise RagLabError("A batch comparison is already running: wait for it or cancel it.")
        run = BatchRun(questions, grid, ctx).start()
        _RUNS[key] = run
        return run


def current_batch(data_dir: Path) -> BatchRun | None:
    with _RUNS_LOCK:
        return _RUNS.get(str(Path(data_dir).resolve()))
