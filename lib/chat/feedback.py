"""Chat feedback: thumbs up/down and an optional corrected answer, in <data dir>/feedback.jsonl.

A `FeedbackRecord` per answer, one JSON object per line on disk (the fine-tuning builder
turns these into training examples):

    {
      "version": 1,
      "id": "3f2a...",                 # uuid4 hex; a later rating of the same answer replaces it
      "created_at": "2026-11-24T09:40:00+00:00",   # ISO 8601, UTC (updated on change)
      "question": "How much is a replacement card?",
      "answer": "According to [1], a replacement card costs £5.",
      "rating": "up" | "down" | null,  # null = only a correction was given
      "correction": "A replacement card costs £5 [1]." | null,
      "model_label": "Local base",
      "rag": true,                     # false: answered without retrieval (context is [])
      "abstained": false,
      "citations": [1],                # source numbers the answer cited
      "context": [                     # the numbered sources exactly as the model saw them
        {"n": 1, "chunk_id": "a1b2...-00003", "doc_name": "fee_schedule.md",
         "page": 2 | null, "section": "Cards" | null, "text": "..."}
      ]
    }

Lines written before the version field existed read the same. The file is rewritten
atomically (lib.io), so a crash never leaves half a line.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.io import atomic_write_text
from lib.types import Answer, Hit, RagLabError

FEEDBACK_FILE = "feedback.jsonl"
FORMAT_VERSION = 1
RATINGS = ("up", "down")
_LOCK = threading.Lock()  # Streamlit sessions are threads of one process


@dataclass(frozen=True)
class ContextSource:
    """One numbered source as the model saw it."""

    n: int
    chunk_id: str
    doc_name: str
    page: int | None
    section: str | None
    text: str


@dataclass(frozen=True)
class FeedbackRecord:
    """A rated and/or corrected answer, with the question and the context it came from."""

    id: str
    question: str
    answer: str
    model_label: str = ""
    rag: bool = True
    abstained: bool = False
    citations: tuple[int, ...] = ()
    context: tuple[ContextSource, ...] = ()
    rating: str | None = None
    correction: str | None = None
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON-ready line (lists, not tuples)."""
        data = asdict(self)
        data["citations"] = list(self.citations)
        data["context"] = [asdict(c) for c in self.context]
        return {"version": FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeedbackRecord:
        """Read a stored line (with or without a version field); KeyError when no id."""
        context = tuple(
            ContextSource(int(c.get("n", i)), str(c.get("chunk_id", f"fb-{i}")),
                          str(c.get("doc_name", "source")), c.get("page"), c.get("section"),
                          str(c.get("text", "")))
            for i, c in enumerate(raw.get("context") or (), 1) if isinstance(c, Mapping))
        return cls(
            id=str(raw["id"]), question=str(raw.get("question") or ""),
            answer=str(raw.get("answer") or ""), model_label=str(raw.get("model_label") or ""),
            rag=bool(raw.get("rag", True)), abstained=bool(raw.get("abstained", False)),
            citations=tuple(int(n) for n in raw.get("citations") or ()), context=context,
            rating=raw.get("rating"), correction=raw.get("correction"),
            created_at=str(raw.get("created_at") or ""))


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / FEEDBACK_FILE


def context_sources(hits: Sequence[Hit]) -> tuple[ContextSource, ...]:
    """The numbered sources of an answer."""
    return tuple(ContextSource(n, h.chunk.id, h.chunk.doc_name, h.chunk.page, h.chunk.section,
                               h.chunk.text) for n, h in enumerate(hits, 1))


def new_record(question: str, answer: Answer, rag: bool) -> FeedbackRecord:
    """A feedback record for one answer, not yet rated (keep it with the chat message)."""
    return FeedbackRecord(id=uuid.uuid4().hex, question=question, answer=answer.text,
                          model_label=answer.model_label, rag=rag, abstained=answer.abstained,
                          citations=tuple(answer.citations),
                          context=context_sources(answer.sources))


def load_feedback(data_dir: Path) -> list[FeedbackRecord]:
    """Every record, oldest first; unreadable lines are skipped."""
    path = feedback_path(data_dir)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            raw = json.loads(line)
            if isinstance(raw, dict):
                records.append(FeedbackRecord.from_json(raw))
        except (ValueError, KeyError, TypeError):
            continue
    return records


def save_feedback(data_dir: Path, record: FeedbackRecord, rating: str | None = None,
                  correction: str | None = None) -> FeedbackRecord:
    """Store (or update, by id) a rating and/or correction; returns the stored record.

    An update keeps what was stored before (a correction after a thumbs-down keeps the
    thumbs-down).
    """
    if rating is not None and rating not in RATINGS:
        raise RagLabError(f"Unknown rating {rating!r}: use 'up' or 'down'.")
    with _LOCK:
        records = load_feedback(data_dir)
        previous = next((r for r in records if r.id == record.id), None)
        updated = record
        if previous is not None:
            updated = replace(updated, rating=previous.rating, correction=previous.correction)
        if rating is not None:
            updated = replace(updated, rating=rating)
        if correction is not None:
            updated = replace(updated, correction=correction.strip() or None)
        if updated.rating is None and not updated.correction:
            raise RagLabError("Nothing to save: give a thumbs up/down or a corrected answer.")
        updated = replace(updated, created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        others = [r for r in records if r.id != updated.id]
        _write(feedback_path(data_dir), [*others, updated])
    return updated


def _write(path: Path, records: list[FeedbackRecord]) -> None:
    """Atomic rewrite of the whole file (feedback files stay small)."""
    atomic_write_text(path, "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n"
                                    for r in records))
