"""The Chat page's transcript on disk, so a conversation survives an app restart.

One transcript per data dir (RAG Lab is a local, one-team tool): `<data>/chat/history.json`.
Messages are the page's dicts; an `Answer` inside one is stored as plain JSON and rebuilt.
A missing or unreadable file is an empty history, never an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lib.io import atomic_write_json
from lib.types import Answer, Chunk, Figure, Grounding, Hit, Timings

log = logging.getLogger(__name__)
HISTORY_FILE = Path("chat") / "history.json"
MAX_MESSAGES = 200  # keep the file small; older turns are dropped first


def history_path(data_dir: Path) -> Path:
    return Path(data_dir) / HISTORY_FILE


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON-ready data (tuples become lists)."""
    return asdict(answer)


def grounding_from_json(raw: dict[str, Any] | None) -> Grounding | None:
    """A saved grounding check; None for answers saved before the check existed."""
    if not raw:
        return None
    figures = tuple(Figure(text=f["text"], kind=f["kind"], sources=tuple(f.get("sources", ())),
                           supported=bool(f.get("supported", False)))
                    for f in raw.get("figures", ()))
    return Grounding(figures, tuple(raw.get("checked", ())), str(raw.get("action", "")))


def answer_from_json(raw: dict[str, Any]) -> Answer:
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
    )


def save_history(data_dir: Path, messages: list[dict[str, Any]]) -> None:
    """Write the transcript atomically (temp file + rename); failures are logged, not raised."""
    path = history_path(data_dir)
    kept = messages[-MAX_MESSAGES:]
    data = [
        {**m, "answer": answer_to_json(m["answer"])} if isinstance(m.get("answer"), Answer) else m
        for m in kept
    ]
    try:
        atomic_write_json(path, data)
    except (OSError, TypeError, ValueError) as exc:  # a lost transcript must not break chat
        log.warning("chat history not saved: %s", exc)


def load_history(data_dir: Path) -> list[dict[str, Any]]:
    """The saved transcript, or [] when there is none or it cannot be read."""
    path = history_path(data_dir)
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [
            {**m, "answer": answer_from_json(m["answer"])} if isinstance(m.get("answer"), dict) else m
            for m in raw
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("chat history unreadable (%s): starting a new chat", exc)
        return []
