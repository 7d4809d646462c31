"""A background job's status box and progress bar (lib.jobs snapshots), shared by pages."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.jobs import JobSnapshot
from ui.format import plural

_STATE = {"failed": "error", "cancelled": "complete", "done": "complete"}


def job_status(snap: JobSnapshot, unit: str) -> DeltaGenerator:
    """Label, state and time; a bar of `done of total <unit>s`; the error if it failed.

    Returns the status box, for the page to add what its job shows (a loss chart, a table).
    """
    box = st.status(f"{snap.label} · {snap.state} · {snap.elapsed:.0f} s",
                    state=_STATE.get(snap.state, "running"), expanded=True)
    box.progress(snap.fraction, text=f"{snap.done} of {plural(snap.total, unit)}")
    if snap.error:
        box.error(f"Failed: {snap.error}")
    return box
