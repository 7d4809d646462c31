"""The OpenAI fine-tuning panel: start a job, follow its events, cancel, list past jobs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openai
import pandas as pd
import streamlit as st

from lib.finetune import openai_jobs as oa
from lib.finetune.dataset import PRICES_USD_PER_M, Example
from lib.types import RagLabError


def openai_jobs_tab(key: str, base_url: str, data_dir: Path, train: Sequence[Example],
                    val: Sequence[Example]) -> None:
    """Everything OpenAI jobs need, behind the key (the sidebar's, else env / secrets.toml)."""
    if not key:
        st.info(
            "Fine-tuning on OpenAI needs an API key: add one in the sidebar settings or set "
            "OPENAI_API_KEY. Everything else on this page works offline."
        )
        return
    try:
        client = oa.ft_client(key, base_url)
    except RagLabError as err:
        st.error(err.reason)
        return
    c1, c2, c3 = st.columns(3)
    base = c1.selectbox("Base model", list(PRICES_USD_PER_M), index=1, key="ft_oa_model")
    epochs = c2.number_input("Epochs (0 = auto)", 0, 50, 0, key="ft_oa_epochs")
    suffix = c3.text_input("Suffix", "orbit-style", key="ft_oa_suffix", max_chars=18)
    if st.button("⬆️ Upload and start the job", key="ft_oa_start", disabled=not train):
        try:
            job = oa.submit(client, train, val, base, int(epochs) or None, suffix)
            st.session_state.ft_oa_job = job.id
            st.session_state.ft_oa_examples = list(train)
        except RagLabError as err:
            st.error(err.reason)
    polling = st.session_state.get("ft_oa_job") not in (None, st.session_state.get("ft_oa_done"))
    _job_panel(client, data_dir, polling)
    if st.button("📜 List past jobs", key="ft_oa_list"):
        try:
            past = oa.list_jobs(client, limit=20)
            st.dataframe(pd.DataFrame([j.__dict__ for j in past]), hide_index=True)
        except RagLabError as err:
            st.error(err.reason)


def _job_panel(client: openai.OpenAI, data_dir: Path, polling: bool) -> None:
    """The current job, polled every 5 s until it ends; registered when it succeeds."""

    @st.fragment(run_every=5.0 if polling else None)
    def panel() -> None:
        job_id = st.session_state.get("ft_oa_job")
        if not job_id:
            return
        try:
            job = oa.get_job(client, job_id)
            events = oa.job_events(client, job_id)
        except RagLabError as err:
            st.error(err.reason)
            return
        st.markdown(f"**Job `{job.id}`** · {job.model} · status **{job.status}**")
        for e in events[-8:]:
            st.caption(f"{'⚠️' if e.level == 'error' else '•'} {e.message}")
        if job.status == "failed":
            st.error(f"The job failed: {job.error or 'no reason given'}")
        elif job.status == "succeeded":
            rec = oa.register_job(data_dir, job, st.session_state.get("ft_oa_examples", []))
            st.success(f"Registered `{job.fine_tuned_model}` as **{rec.label}**.")
        elif st.button("⏹ Cancel job", key="ft_oa_cancel"):
            try:
                oa.cancel_job(client, job_id)
            except RagLabError as err:
                st.error(err.reason)
        if job.done:
            st.session_state.ft_oa_done = job_id

    panel()
