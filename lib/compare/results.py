"""Batch results of the 2×2 grid as frozen records; JSON only in `results/compare.json`.

File layout (what the decision guide reads): {"version", "created_at", "base", "fine_tuned",
"n_questions", "settings": {"method", "k", "max_tokens"}, "cells": {cell key: averages},
"questions": [{"id", "text", "expected", "cells": {cell key: scorecard row}}]}.
Averages and rows are flat: rule ids (lib.compare.style.RULE_IDS) are keys beside the rates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lib.compare.grid import Cell, CellResult
from lib.compare.style import RULE_IDS, StyleAverages, average
from lib.io import atomic_write_json

RESULTS_FILE = "compare.json"
# Bump when the layout changes and teach from_json to read the older one. Files written
# before the field existed have no "version" and read as 0 (same layout as 1).
RESULTS_VERSION = 1


@dataclass(frozen=True)
class CellAverages:
    """One cell's averages over the questions of a batch."""

    key: str
    label: str
    style: StyleAverages
    seconds: float | None = None  # mean latency of the answered questions
    expected_fact: float | None = None  # share that stated the expected fact (None: unchecked)
    errors: int = 0
    # share of answers whose every figure the grounding check found in a cited source
    # (RAG-on cells; None: nothing checked, e.g. RAG off)
    grounding_check: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.style.to_json(), "seconds": self.seconds,
                "expected_fact": self.expected_fact, "errors": self.errors, "label": self.label,
                "grounding_check": self.grounding_check}

    @classmethod
    def from_json(cls, key: str, raw: Mapping[str, Any]) -> CellAverages:
        return cls(key, str(raw.get("label", key)), StyleAverages.from_json(dict(raw)),
                   raw.get("seconds"), raw.get("expected_fact"), int(raw.get("errors", 0)),
                   raw.get("grounding_check"))


@dataclass(frozen=True)
class GridSummary:
    """The four cells' averages, in grid order."""

    cells: tuple[CellAverages, ...] = ()

    def cell(self, key: str) -> CellAverages:
        return next(c for c in self.cells if c.key == key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.cells]

    def to_json(self) -> dict[str, Any]:
        return {c.key: c.to_json() for c in self.cells}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> GridSummary:
        return cls(tuple(CellAverages.from_json(k, v) for k, v in raw.items()))


def _share(flags: Sequence[bool]) -> float | None:
    """The share of True, rounded; None when there is nothing to count."""
    return round(sum(flags) / len(flags), 4) if flags else None


def summarise(rows: Sequence[Sequence[CellResult]], grid: Sequence[Cell]) -> GridSummary:
    """Per-cell averages over questions: scorecard rates, words and latency."""
    out = []
    for i, cell in enumerate(grid):
        done = [r[i] for r in rows if r[i].card is not None]
        checked = [r.expected_found for r in done if r.expected_found is not None]
        grounded = [r.grounding.passed for r in done if r.grounding is not None]
        out.append(CellAverages(
            cell.key,
            cell.label,
            average(r.card for r in done if r.card is not None),
            round(sum(r.seconds for r in done) / len(done), 2) if done else None,
            round(sum(checked) / len(checked), 4) if checked else None,
            sum(1 for r in rows if r[i].error),
            _share(grounded),
        ))
    return GridSummary(tuple(out))


@dataclass(frozen=True)
class CellRow:
    """One cell's answer to one question, as saved: scorecard flattened, rule id -> passed."""

    cell: str  # the cell's label
    answer: str = ""
    seconds: float = 0.0
    expected_fact: bool | None = None
    abstained: bool = False
    error: str = ""
    rules: dict[str, bool | None] = field(default_factory=dict)
    style_score: float | None = None  # None (and no facts) when the cell failed
    grounded: bool | None = None
    cites_source: bool | None = None
    facts_ok: bool | None = None
    facts: tuple[str, ...] = ()
    wrong_facts: tuple[str, ...] = ()
    words: int | None = None
    sentences: int | None = None
    sources: tuple[str, ...] = ()  # what a RAG-on cell was shown: "[1] fees.pdf, page 3"
    # every figure of the answer found in a cited source; None: nothing was checked (RAG off)
    grounding_check: bool | None = None

    @classmethod
    def of(cls, r: CellResult) -> CellRow:
        check = None if r.grounding is None else r.grounding.passed
        base = cls(r.label, r.text, round(r.seconds, 2), r.expected_found, r.abstained, r.error,
                   sources=tuple(r.sources), grounding_check=check)
        card = r.card
        if card is None:
            return base
        return replace(base, rules={x.rule: x.passed for x in card.rules},
                       style_score=round(card.style_score, 3), grounded=card.grounded,
                       cites_source=card.cites_source, facts_ok=card.facts_ok,
                       facts=card.facts_supported, wrong_facts=card.facts_unsupported,
                       words=card.words, sentences=card.sentences)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "rules"}
        out.update(self.rules, facts=list(self.facts), wrong_facts=list(self.wrong_facts),
                   sources=list(self.sources))
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CellRow:
        fields = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw and k != "rules"}
        fields["facts"] = tuple(raw.get("facts", ()))
        fields["wrong_facts"] = tuple(raw.get("wrong_facts", ()))
        fields["sources"] = tuple(raw.get("sources", ()))
        return cls(**fields, rules={r: raw[r] for r in RULE_IDS if r in raw})


@dataclass(frozen=True)
class QuestionResult:
    """One question of a batch and the four cells' rows, by cell key."""

    id: str
    text: str
    expected: str
    cells: dict[str, CellRow]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "expected": self.expected,
                "cells": {k: v.to_json() for k, v in self.cells.items()}}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> QuestionResult:
        return cls(str(raw["id"]), str(raw.get("text", "")), str(raw.get("expected", "")),
                   {k: CellRow.from_json(v) for k, v in raw.get("cells", {}).items()})


@dataclass(frozen=True)
class BatchSettings:
    """The RAG settings the batch ran with."""

    method: str
    k: int
    max_tokens: int


@dataclass(frozen=True)
class BatchResults:
    """A finished (or cancelled) batch: what compare.json holds."""

    created_at: str
    base: str
    fine_tuned: str
    settings: BatchSettings
    summary: GridSummary
    questions: tuple[QuestionResult, ...] = ()

    @property
    def n_questions(self) -> int:
        return len(self.questions)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RESULTS_VERSION,
            "created_at": self.created_at,
            "base": self.base,
            "fine_tuned": self.fine_tuned,
            "n_questions": self.n_questions,
            "settings": self.settings.__dict__,
            "cells": self.summary.to_json(),
            "questions": [q.to_json() for q in self.questions],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> BatchResults:
        """Any version up to RESULTS_VERSION (0 = written before the field existed)."""
        version = int(raw.get("version", 0))
        if version > RESULTS_VERSION:
            raise ValueError(f"compare.json version {version} is newer than this app")
        settings = raw.get("settings", {})
        return cls(
            str(raw.get("created_at", "")),
            str(raw.get("base", "")),
            str(raw.get("fine_tuned", "")),
            BatchSettings(str(settings.get("method", "")), int(settings.get("k", 0)),
                          int(settings.get("max_tokens", 0))),
            GridSummary.from_json(raw.get("cells", {})),
            tuple(QuestionResult.from_json(q) for q in raw.get("questions", [])),
        )


def save_results(data_dir: Path, results: BatchResults) -> Path:
    """Write `<data dir>/results/compare.json` atomically."""
    path = Path(data_dir) / "results" / RESULTS_FILE
    atomic_write_json(path, results.to_json(), indent=1)
    return path


def load_results(data_dir: Path) -> BatchResults | None:
    """The saved batch, or None when there is none (or it cannot be read)."""
    try:
        raw = json.loads((Path(data_dir) / "results" / RESULTS_FILE).read_text(encoding="utf-8"))
        return BatchResults.from_json(raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
