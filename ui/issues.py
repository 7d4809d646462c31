"""Validation problems on a page: errors and warnings, numbered by line or row, capped."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from lib.finetune.dataset import Issue


def show_issues(issues: Sequence[Issue], unit: str, limit: int = 20) -> None:
    """Each issue as `<unit> <n>: message` (error or warning box), at most `limit` shown."""
    for issue in list(issues)[:limit]:
        where = f"{unit} {issue.line}: " if issue.line else ""
        (st.error if issue.level == "error" else st.warning)(f"{where}{issue.message}")
    if len(issues) > limit:
        st.error(f"… and {len(issues) - limit} more.")
