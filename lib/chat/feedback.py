"""Chat feedback: thumbs up/down and an optional corrected answer, in <data dir>/feedback.jsonl.

One JSON object per line (the fine-tuning helper turns these into training examples):

    {
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

The file is rewritten through a temp file + os.replace, so a crash never leaves half a line.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.io import atomic_write_text
from lib.types import Answer, Hit, RagLabError

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down")
_LOCK = threading.Lock()  # Streamlit sessions are threads of one process


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / FEEDBACK_FILE


def context_records(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """The numbered sources as plain dicts."""
    return [{"n": n, "chunk_id": h.chunk.id, "doc_name": h.chunk.doc_name, "page": h.chunk.page,
             "section": h.chunk.section, "text": h.chunk.text} for n, h in enumerate(hits, 1)]


def new_record(question: str, answer: Answer, rag: bool) -> dict[str, Any]:
    """A feedback record for one answer, not yet rated (keep it with the chat message)."""
    return {"id": uuid.uuid4().hex, "created_at": "", "question": question,
            "answer": answer.text, "rating": None, "correction": None,
            "model_label": answer.model_label, "rag": rag, "abstained": answer.abstained,
            "citations": list(answer.citations), "context": context_records(answer.sources)}


def load_feedback(data_dir: Path) -> list[dict[str, Any]]:
    """Every record, oldest first; unreadable lines are skipped."""
    path = feedback_path(data_dir)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "id" in record:
            records.append(record)
    return records


def save_feedback(data_dir: Path, record: dict[str, Any], rating: str | None = None,
                  correction: str | None = None) -> dict[str, Any]:
    """Store (or update, by id) a rating and/or correction; returns the stored record.

    An update keeps what was stored before (a correction after a thumbs-down keeps the
    thumbs-down).
    """
    if rating is not None and rating not in RATINGS:
        raise RagLabError(f"Unknown rating {rating!r}: use 'up' or 'down'.")
    with _LOCK:
        records = load_feedback(data_dir)
        previous = next((r for r in records if r["id"] == record["id"]), {})
        updated = {**record, **{k: previous[k] for k in ("rating", "correction") if k in previous}}
        if rating is not None:
            updated["rating"] = rating
        if correction is not None:
            updated["correction"] = correction.strip() or None
        if updated.get("rating") is None and not updated.get("correction"):
            raise RagLabError("Nothing to save: give a thumbs up/down or a corrected answer.")
        updated["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        others = [r for r in records if r["id"] != updated["id"]]
        _write(feedback_path(data_dir), [*others, updated])
    return updated


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    """Atomic rewrite of the whole file (feedback files stay small)."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
