"""Settings chosen on the Evaluate page and used app-wide: fusion knobs and the abstention threshold.

One small JSON file, <data dir>/tuned.json; absent, the built-in defaults apply. The Search
lab starts from its fusion, Chat answers with its fusion and threshold.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lib.generation.rag import DEFAULT_MIN_CONFIDENCE, RagSettings
from lib.io import atomic_write_json
from lib.retrieval.fusion import FusionSettings
from lib.types import RagLabError

TUNED_FILE = "tuned.json"
# Bump when the layout changes and teach load_tuned the older one; a newer file is ignored.
TUNED_VERSION = 1


@dataclass(frozen=True)
class Tuned:
    """What the user chose, and where each choice came from (None: the built-in default)."""

    fusion: FusionSettings | None = None
    fusion_source: str = ""  # e.g. "sweep of α on scifact, run 20261201-…"
    min_confidence: float | None = None
    confidence_source: str = ""
    saved_at: str = ""

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        f = self.fusion
        return {
            "version": TUNED_VERSION,
            "fusion": None if f is None else {
                "mode": str(f.mode), "rrf_k": f.rrf_k, "alpha": f.alpha,
                "normalization": str(f.normalization), "depth": f.depth,
            },
            "fusion_source": self.fusion_source,
            "min_confidence": self.min_confidence,
            "confidence_source": self.confidence_source,
            "saved_at": self.saved_at,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Tuned:
        """The file back into Tuned (a newer version reads as nothing chosen)."""
        if int(raw.get("version", 1)) > TUNED_VERSION:
            return cls()
        fusion = raw.get("fusion")
        conf = raw.get("min_confidence")
        return cls(
            FusionSettings(**fusion) if fusion else None,
            str(raw.get("fusion_source", "")),
            None if conf is None else float(conf),
            str(raw.get("confidence_source", "")),
            str(raw.get("saved_at", "")),
        )


def tuned_path(data_dir: Path) -> Path:
    """<data dir>/tuned.json."""
    return Path(data_dir) / TUNED_FILE


def load_tuned(data_dir: Path) -> Tuned:
    """The saved choices; a missing or unreadable file means the defaults."""
    try:
        return Tuned.from_json(json.loads(tuned_path(data_dir).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RagLabError):
        return Tuned()


def _save(data_dir: Path, tuned: Tuned) -> Tuned:
    stamped = replace(tuned, saved_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    atomic_write_json(tuned_path(data_dir), stamped.to_json(), indent=1)
    return stamped


def save_fusion(data_dir: Path, fusion: FusionSettings, source: str = "") -> Tuned:
    """Persist the fusion settings the app should use (the threshold is kept)."""
    return _save(data_dir, replace(load_tuned(data_dir), fusion=fusion, fusion_source=source))


def save_min_confidence(data_dir: Path, threshold: float, source: str = "") -> Tuned:
    """Persist the abstention threshold Chat should use (the fusion is kept)."""
    if not 0.0 <= threshold <= 1.0:
        raise RagLabError("the abstention threshold must be between 0 and 1")
    tuned = replace(load_tuned(data_dir), min_confidence=round(float(threshold), 4),
                    confidence_source=source)
    return _save(data_dir, tuned)


def app_fusion(data_dir: Path) -> FusionSettings:
    """The fusion the app searches with: the saved choice, else the built-in default."""
    return load_tuned(data_dir).fusion or FusionSettings()


def app_min_confidence(data_dir: Path) -> float:
    """The abstention threshold Chat uses: the saved choice, else DEFAULT_MIN_CONFIDENCE."""
    value = load_tuned(data_dir).min_confidence
    return DEFAULT_MIN_CONFIDENCE if value is None else value


def apply_tuned(data_dir: Path, settings: RagSettings) -> RagSettings:
    """The same RagSettings with the saved fusion and threshold, where the user saved them."""
    tuned = load_tuned(data_dir)
    if tuned.fusion is not None:
        settings = replace(settings, fusion=tuned.fusion)
    if tuned.min_confidence is not None:
        settings = replace(settings, min_confidence=tuned.min_confidence)
    return settings
