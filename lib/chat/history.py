"""The Chat page's transcript on disk, so a conversation survives an app restart.

One transcript per data dir (RAG Lab is a local, one-team tool): `<data>/chat/history.json`,
`{"version": 1, "messages": [...]}`, each message a `ChatMessage` with its `Answer` and
`FeedbackRecord` as plain JSON. Files from before the version field (a bare list of
messages) still read. A missing or unreadable file is an empty history, never an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lib.chat.feedback import FeedbackRecord
from lib.io import atomic_write_json
from lib.types import Answer, Chunk, Hit, Timings

log = logging.getLogger(__name__)
HISTORY_FILE = Path("chat") / "history.json"
FORMAT_VERSION = 1
MAX_MESSAGES = 200  # keep the file small; older turns are dropped first


@dataclass(frozen=True)
class ChatMessage:
    """One turn: the user's question, or the assistant's answer (or its one-line error)."""

    role: Literal["user", "assistant"]
    content: str
    question: str = ""  # assistant: the question answered
    rag: bool = True
    answer: Answer | None = None
    error: str = ""
    feedback: FeedbackRecord | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.role == "assistant":
            data.update(question=self.question, rag=self.rag, error=self.error)
        if self.answer is not None:
            data["answer"] = answer_to_json(self.answer)
        if self.feedback is not None:
            data["feedback"] = self.feedback.to_json()
        return data

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ChatMessage:
        answer, feedback = raw.get("answer"), raw.get("feedback")
        return cls(
            role=raw["role"], content=str(raw.get("content") or ""),
            question=str(raw.get("question") or ""), rag=bool(raw.get("rag", True)),
            answer=answer_from_json(answer) if isinstance(answer, Mapping) else None,
            error=str(raw.get("error") or ""),
            feedback=FeedbackRecord.from_json(feedback) if isinstance(feedback, Mapping) else None)


def history_path(data_dir: Path) -> Path:
    return Path(data_dir) / HISTORY_FILE


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON-ready data (tuples become lists)."""
    return asdict(answer)


def answer_from_json(raw: Mapping[str, Any]) -> Answer:
    """The inverse of answer_to_json."""
    sources = tuple(
        Hit(chunk=Chunk(**h["chunk"]), score=h["score"], rank=h["rank"], method=h["method"])
        for h in raw.get("sources", ())
    )
    return Answer(
        text=raw["text"],
        citations=tuple(raw.get("citations", ())),
        sources=sources,
        timings=Timings(**raw.get("timings", {})),
        model_label=raw.get("model_label", ""),
        abstained=bool(raw.get("abstained", False)),
    )


def save_history(data_dir: Path, messages: Sequence[ChatMessage]) -> None:
    """Write the transcript atomically; failures are logged, not raised."""
    kept = list(messages)[-MAX_MESSAGES:]
    data = {"version": FORMAT_VERSION, "messages": [m.to_json() for m in kept]}
    try:
        atomic_write_json(history_path(data_dir), data)
    except (OSError, TypeError, ValueError) as exc:  # a lost transcript must not break chat
        log.warning("chat history not saved: %s", exc)


def load_history(data_dir: Path) -> list[ChatMessage]:
    """The saved transcript, or [] when there is none or it cannot be read."""
    path = history_path(data_dir)
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rows = raw["messages"] if isinstance(raw, dict) else raw  # unversioned: a bare list
        return [ChatMessage.from_json(m) for m in rows
                if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("chat history unreadable (%s): starting a new chat", exc)
        return []
