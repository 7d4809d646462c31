"""Formatting for pages: short, human strings (no Streamlit calls, so any page can reuse them)."""

from __future__ import annotations

from lib.retrieval.fusion import FusionMode, FusionSettings

MARK = {True: "✅", False: "❌", None: "–"}  # passed, failed, not applicable


def duration(seconds: float) -> str:
    """'45 s' or '12 min': a time estimate a user can read at a glance."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def plural(n: int, noun: str) -> str:
    """'1 step', '2 steps'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fusion_label(f: FusionSettings) -> str:
    """`weighted (α 0.5, zscore, 50 candidates)` or `rrf (RRF k 60, 50 candidates)`."""
    knobs = f"RRF k {f.rrf_k}" if f.mode is FusionMode.RRF else f"α {f.alpha}, {f.normalization}"
    return f"{f.mode} ({knobs}, {f.depth} candidates)"
