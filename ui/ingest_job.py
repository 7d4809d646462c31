"""The Documents page's ingest job: start or queue an upload, live progress, cancel, results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lib import jobs
from lib.ingest.job import BatchOutcome, IngestJob, IngestProgress, outcome_line, submit
from lib.jobs import JobSnapshot
from lib.types import IngestResult, RagLabError
from ui.browser_session import browser_session_id
from ui.format import duration
from ui.progress import job_status
from ui.resources import get_settings

STATUS_ICON = {"ingested": "✅ ingested", "duplicate": "♻️ duplicate", "refused": "⛔ refused",
               "cancelled": "⏹ cancelled"}
REFRESH_S = 1.0  # how often a running job's panel redraws itself


def current_job(data_dir: Path) -> IngestJob | None:
    """The data dir's latest ingest job (running or finished), shared by every session."""
    return jobs.current(IngestJob, data_dir)


def start_upload(store, files: list[tuple[str, bytes]], label: str) -> None:
    """Hand the files to the background job (queued if one runs), then redraw the page."""
    settings = get_settings()
    try:
        job, batch = submit(store, files, owner=browser_session_id(), label=label,
                            max_bytes=settings.max_file_bytes,
                            max_chunks=settings.max_chunks_per_file)
    except RagLabError as err:
        st.error(err.reason)
        return
    if job.batch.id != batch.id:  # the running job took it
        st.toast("Queued: it starts when the upload being indexed is done.")
    st.rerun()


def results_table(results: tuple[IngestResult, ...]) -> pd.DataFrame:
    """One row per file of a finished upload."""
    return pd.DataFrame([
        {
            "file": r.name,
            "outcome": STATUS_ICON[r.status],
            "reason": r.reason,
            # text, so a refused row shows a dash rather than "None"
            "pages / sections": str(r.pages) if r.pages else "–",
            "chunks": str(r.chunks) if r.chunks else "–",
            "seconds": f"{r.seconds:.2f}" if r.status == "ingested" else "–",
        }
        for r in results
    ])


def _whose(owner: str, me: str) -> str:
    return "your upload" if owner in (me, "") else "another session's upload"


def _running(job: IngestJob, snap: JobSnapshot[IngestProgress], me: str) -> None:
    """The status box: files done, the current file and its chunks, the ETA, Cancel, the queue."""
    d = snap.detail
    box = job_status(snap, "file")
    if d.current is not None:
        p = d.file
        box.markdown(f"**{d.current.label}** ({_whose(d.current.owner, me)})")
        if p is None or p.phase == "reading":
            where = f"Reading {p.file} ({p.first} of {p.n_files})" if p else "Starting…"
            box.progress(0.0, text=where)
        else:
            files = f"{p.first}–{p.last}" if p.last > p.first else f"{p.first}"
            more = f" and {p.last - p.first} more" if p.last > p.first else ""
            eta = "estimating…" if d.eta is None else f"about {duration(d.eta)} left"
            text = (f"{p.phase.capitalize()} {p.file}{more} (file {files} of {p.n_files}) · "
                    f"{p.chunks_done:,} of {p.chunks_total:,} chunks embedded · {eta}")
            box.progress(p.chunks_done / max(p.chunks_total, 1), text=text)
        stopping = d.stopping
        if not stopping and d.current.owner in (me, "") and box.button("⏹ Cancel",
                                                                        key="docs_ingest_cancel"):
            stopping = job.cancel_batch(d.current.id)
        if stopping:
            box.info("Stopping at the next safe point: files already committed stay.")
    for batch in d.queued:
        line = f"Queued: {batch.label} ({_whose(batch.owner, me)}), starts when the one above is done."
        box.caption(line)
        if batch.owner == me and box.button("Remove from the queue", key=f"docs_dequeue_{batch.id}"):
            job.cancel_batch(batch.id)


def _finished(outcome: BatchOutcome, me: str, title: str) -> None:
    """A finished upload: the one-line summary; for your own, the per-file table and reasons."""
    line = outcome_line(outcome)
    if outcome.batch.owner not in (me, ""):
        st.caption(f"Another session's upload ({outcome.batch.label}): {line}")
        return
    st.markdown(f"**{title}** ({outcome.batch.label}): {line}")
    if outcome.results:
        st.dataframe(results_table(outcome.results), hide_index=True, width="stretch")
    refused = [r.reason for r in outcome.results if r.status == "refused"]
    if refused:
        st.warning("\n".join(f"- {reason}" for reason in refused))


def ingest_panel(data_dir: Path, running: bool) -> None:
    """The job's progress while it runs (redrawn every REFRESH_S), its results once done."""

    @st.fragment(run_every=REFRESH_S if running else None)
    def panel() -> None:
        job = current_job(data_dir)
        if job is None:
            return
        snap, me = job.snapshot(), browser_session_id()
        if snap.running:
            _running(job, snap, me)
        mine = 0  # "Last upload" is this session's newest, whatever others uploaded since
        for outcome in reversed(snap.detail.finished):  # newest first
            _finished(outcome, me, "Last upload" if mine == 0 else "Earlier upload")
            mine += outcome.batch.owner in (me, "")
        if running and not snap.running:
            st.rerun()  # the job ended: redraw the page (sidebar counts, document list)

    panel()
