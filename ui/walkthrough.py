"""The home page walkthrough: record progress facts from the pages, and read every step's state."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import streamlit as st

from lib.compare.results import load_results as load_batch
from lib.decision.answers import load_answers
from lib.decision.walkthrough import load_progress, record
from lib.types import RagLabError
from ui.resources import get_settings, get_store

log = logging.getLogger(__name__)


def mark(fact: str) -> None:
    """Record a walkthrough fact (a search run, a chat answer...): once per session, never fatal."""
    done: set[str] = st.session_state.setdefault("_walkthrough_marked", set())
    if fact in done:
        return
    try:
        record(get_settings().data_dir, fact, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    except OSError as err:  # progress is a nicety: a read-only data dir must not break a page
        log.warning("walkthrough: cannot record %s: %s", fact, err)
        return
    done.add(fact)


@dataclass(frozen=True)
class StepState:
    """Which facts are true now (from the index, the results files and the progress file)."""

    indexed: bool
    search: bool
    chat: bool
    model: bool
    grid: bool
    guide: bool


def step_state() -> StepState:
    """Read every fact from real state on disk, so checks survive page switches and restarts."""
    data_dir = get_settings().data_dir
    facts = load_progress(data_dir)
    try:
        indexed = get_store().n_chunks > 0
    except RagLabError:
        indexed = False
    grid = "grid" in facts or load_batch(data_dir) is not None  # a grid run, or a saved batch
    return StepState(
        indexed,
        "search" in facts,
        "chat" in facts,
        "model" in facts,
        grid,
        load_answers(data_dir) is not None,
    )
