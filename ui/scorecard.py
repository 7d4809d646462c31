"""How the Compare grid's scorecards read on a page: a checks × cells table, a cell's caption."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.compare.grid import CellResult
from ui.format import MARK, plural


def scorecard_table(results: Sequence[CellResult], fact: str) -> pd.DataFrame:
    """Rows = checks, columns = cells; `fact` is the preset's expected fact ("" if none)."""
    rows: dict[str, dict[str, str]] = {}
    for r in results:
        card = r.card
        col = r.label
        if card is None:
            rows.setdefault("error", {})[col] = r.error
            continue
        for rule in card.rules:
            rows.setdefault(f"{rule.rule} {rule.name}", {})[col] = (
                f"{MARK[rule.passed]} {rule.detail}"
            )
        rows.setdefault("style score", {})[col] = f"{card.style_passed}/{card.style_applicable}"
        rows.setdefault("cites a retrieved source", {})[col] = MARK[card.cites_source]
        facts = ", ".join(card.facts_supported) or "none"
        wrong = (
            f"; not in sources: {', '.join(card.facts_unsupported)}"
            if card.facts_unsupported
            else ""
        )
        rows.setdefault("key facts from the sources", {})[col] = (
            f"{MARK[card.facts_ok]} {facts}{wrong}"
        )
        rows.setdefault("grounded", {})[col] = MARK[card.grounded]
        rows.setdefault("grounding check (figures in cited sources)", {})[col] = grounding_mark(r)
        if r.expected_found is not None:
            rows.setdefault(f"states {fact}", {})[col] = MARK[r.expected_found]
        rows.setdefault("length", {})[col] = (
            f"{card.words} words, {plural(card.sentences, 'sentence')}"
        )
        rows.setdefault("latency", {})[col] = f"{r.seconds:.1f} s (first token {r.ttft_s:.1f} s)"
    return pd.DataFrame(rows).T


def grounding_mark(r: CellResult) -> str:
    """✅ every figure is in a cited source on a line that answers; ❌ with the ones that are not."""
    g = r.grounding
    if g is not None and g.missing and not g.flagged:  # no_figure, definitions, conditions
        what = ("meaning not given" if "meaning" in g.missing else
                "limit ignored" if "is outside" in g.missing else "no figure given")
        return f"{MARK[False]} {what}"
    if g is None or not g.figures:
        return MARK[None]
    if g.passed:
        return f"{MARK[True]} {len(g.figures)} checked"
    missing = ", ".join(f.text for f in g.unsupported)
    misplaced = ", ".join(f.text for f in g.flagged if f.supported)
    parts = [f"not found: {missing}" if missing else "", f"wrong line: {misplaced}" if misplaced else ""]
    return f"{MARK[False]} " + "; ".join(p for p in parts if p)


def cell_caption(r: CellResult, fact: str) -> str:
    """The one-line scorecard under a cell: latency, style, grounding, the preset's fact."""
    assert r.card is not None
    line = (f"⏱ {r.seconds:.1f} s · style {r.card.style_passed}/{r.card.style_applicable}"
            f" · grounded {MARK[r.card.grounded]}")
    if fact and r.expected_found is not None:
        line += f" · states {fact} {MARK[r.expected_found]}"
    return line
