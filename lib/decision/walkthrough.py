"""The home page walkthrough's progress facts (a search run, a chat answer...) in one file."""

from __future__ import annotations

import json
from pathlib import Path

from lib.io import atomic_write_json

PROGRESS_FILE = "walkthrough.json"  # under <data dir>/results/
# The facts pages record; "indexed" is read from the store itself, "guide" from the saved answers.
FACTS = ("search", "chat", "model", "grid")


def progress_path(data_dir: Path) -> Path:
    return Path(data_dir) / "results" / PROGRESS_FILE


def load_progress(data_dir: Path) -> dict[str, str]:
    """Fact -> when it was first recorded (ISO time); {} when nothing is recorded."""
    try:
        raw = json.loads(progress_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    facts = raw.get("facts", {}) if isinstance(raw, dict) else {}
    return {k: str(v) for k, v in facts.items() if k in FACTS}


def record(data_dir: Path, fact: str, when: str) -> bool:
    """Record a fact once (atomically); returns whether the file changed."""
    if fact not in FACTS:
        raise ValueError(f"Unknown walkthrough fact '{fact}'. Supported: {', '.join(FACTS)}.")
    facts = load_progress(data_dir)
    if fact in facts:
        return False
    atomic_write_json(
        progress_path(data_dir), {"version": 1, "facts": {**facts, fact: when}}, indent=1
    )
    return True
