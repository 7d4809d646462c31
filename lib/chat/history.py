"""The Chat page's transcripts on disk, so a conversation survives an app restart.

One transcript per chat session (the UI keys it by a per-browser id kept in the URL):
`<data>/chat/sessions/<id>.json`; the `default` session is `<data>/chat/history.json`,
the one transcript of data dirs from before sessions, so nothing written then is lost.
Each file is `{"version": 1, "messages": [...]}`, each message a `ChatMessage` with its
`Answer` and `FeedbackRecord` as plain JSON. Files from before the version field (a bare
list of messages) still read. A missing or unreadable file is an empty history, never an error.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lib.chat.feedback import FeedbackRecord
from lib.io import atomic_write_json
from lib.types import Answer, Chunk, Figure, Grounding, Hit, Timings

log = logging.getLogger(__name__)
HISTORY_FILE = Path("chat") / "history.json"  # the default session's transcript
SESSIONS_DIR = Path("chat") / "sessions"
DEFAULT_SESSION = "default"
# Ids come from the URL: a strict alphabet keeps them file names inside SESSIONS_DIR.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
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


def is_session_id(value: object) -> bool:
    """Is this a usable chat session id (letters, digits, '-' and '_', at most 64)?"""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def new_session_id() -> str:
    """A fresh, unguessable session id (a UUID4)."""
    return str(uuid.uuid4())


def history_path(data_dir: Path, session: str = DEFAULT_SESSION) -> Path:
    """Where a session's transcript lives; ValueError for an id that is not `is_session_id`."""
    if not is_session_id(session):
        raise ValueError(f"not a chat session id: {str(session)[:80]!r}")
    if session == DEFAULT_SESSION:
        return Path(data_dir) / HISTORY_FILE
    return Path(data_dir) / SESSIONS_DIR / f"{session}.json"


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON-ready data (tuples become lists)."""
    return asdict(answer)


def grounding_from_json(raw: Mapping[str, Any] | None) -> Grounding | None:
    """A saved grounding check; None for answers saved before the check existed."""
    if not raw:
        return None
    figures = tuple(Figure(text=f["text"], kind=f["kind"], sources=tuple(f.get("sources", ())),
                           supported=bool(f.get("supported", False)),
                           better=str(f.get("better") or ""))
                    for f in raw.get("figures", ()))
    return Grounding(figures, tuple(raw.get("checked", ())), str(raw.get("action", "")),
                     missing=str(raw.get("missing") or ""),
                     repaired=str(raw.get("repaired") or ""))


def answer_from_json(raw: Mapping[str, Any]) -> Answer:
    """The inverse of answer_to_json (files without newer fields still load)."""
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
        grounding=grounding_from_json(raw.get("grounding")),
        unseen=tuple(str(w) for w in raw.get("unseen", ())),
    )


def save_history(data_dir: Path, messages: Sequence[ChatMessage],
                 session: str = DEFAULT_SESSION) -> None:
    """Write a session's transcript atomically; failures are logged, not raised."""
    kept = list(messages)[-MAX_MESSAGES:]
    data = {"version": FORMAT_VERSION, "messages": [m.to_json() for m in kept]}
    try:
        atomic_write_json(history_path(data_dir, session), data)
    except (OSError, TypeError, ValueError) as exc:  # a lost transcript must not break chat
        log.warning("chat history not saved: %s", exc)


def load_history(data_dir: Path, session: str = DEFAULT_SESSION) -> list[ChatMessage]:
    """A session's saved transcript, or [] when there is none or it cannot be read."""
    path = history_path(data_dir, session)
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
