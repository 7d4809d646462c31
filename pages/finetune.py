"""Fine-tune: build a dataset (feedback, upload, editor), validate, cost, train a LoRA, OpenAI jobs."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from ui.frame import frame

frame("Fine-tune")

from lib.chat.feedback import load_feedback  # noqa: E402
from lib.finetune import builder, dataset, registry  # noqa: E402
from lib.finetune import openai_jobs as oa  # noqa: E402
from lib.finetune.lora import TrainConfig, missing_modules  # noqa: E402
from lib.finetune.train_local import current_job, start_job  # noqa: E402
from lib.types import RagLabError  # noqa: E402
from ui.model_switch import current_secrets  # noqa: E402
from ui.resources import get_settings  # noqa: E402

SOURCES = ("Bundled Orbit style set", "Chat feedback", "Upload a JSONL file")
# A step (batch 4) costs about this many seconds per token of the mean example, on an idle
# 2-core machine: 5.6 s/step at ~267 tokens per example (the bundled set, from bench/train.py's
# CPU time). Assumed proportional to length (attention is small at these lengths).
SECONDS_PER_STEP_PER_TOKEN = 0.021
settings = get_settings()
data_dir = settings.data_dir

st.title("🛠️ Fine-tune")
st.caption(
    "*RAG changes what the model knows; fine-tuning changes how it behaves.* "
    "Teach the house style (tone, format, disclaimers), not facts: facts go stale, "
    "retrieval keeps them fresh. Then compare both on the **Compare** page."
)


def duration(seconds: float) -> str:
    """'45 s' or '12 min': a time estimate a user can read at a glance."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def load_source(source: str) -> list:
    """Examples from the chosen source; problems are shown, never raised."""
    if source == SOURCES[0]:
        return dataset.load_bundled()
    if source == SOURCES[1]:
        harvest = builder.from_feedback(load_feedback(data_dir))
        st.caption(
            f"From chat feedback: {plural(harvest.from_thumbs_up, '👍 answer')}, "
            f"{plural(harvest.from_corrections, 'corrected answer')}; skipped "
            f"{harvest.skipped_down} 👎 "
            f"without a correction and {harvest.skipped_other} others."
        )
        if not harvest.examples:
            st.info("No usable feedback yet: rate answers 👍 or correct them on the Chat page.")
        return list(harvest.examples)
    upload = st.file_uploader("JSONL in OpenAI chat format", type=["jsonl"], key="ft_upload")
    if upload is None:
        return []
    result = dataset.validate_jsonl(upload.getvalue().decode("utf-8", errors="replace"))
    show_issues(result.errors, "line")
    return list(result.examples)


def show_issues(issues, unit: str) -> None:
    """Errors first (numbered), at most 20 shown."""
    for issue in list(issues)[:20]:
        where = f"{unit} {issue.line}: " if issue.line else ""
        (st.error if issue.level == "error" else st.warning)(f"{where}{issue.message}")
    if len(issues) > 20:
        st.error(f"… and {len(issues) - 20} more.")


def editor_rows(source: str, examples: list) -> list[dict]:
    """The editable table; reloaded (new widget key) whenever the source changes."""
    marker = (source, len(examples), dataset.dataset_hash(examples) if examples else "")
    if st.session_state.get("ft_loaded") != marker:
        st.session_state.ft_loaded = marker
        st.session_state.ft_editor_version = st.session_state.get("ft_editor_version", 0) + 1
    frame_ = pd.DataFrame(builder.to_rows(examples), columns=list(builder.COLUMNS))
    edited = st.data_editor(
        frame_,
        num_rows="dynamic",
        height=280,
        key=f"ft_editor_{st.session_state.ft_editor_version}",
        column_config={
            "system": st.column_config.TextColumn("system", width="small"),
            "user": st.column_config.TextColumn("user", width="large"),
            "assistant": st.column_config.TextColumn("assistant", width="large"),
            "earlier_turns": st.column_config.TextColumn("earlier turns (JSON)", width="small"),
        },
    )
    return edited.to_dict("records")


def cost_table(stats: dataset.DatasetStats) -> None:
    """Editable USD prices per 1M training tokens, and what this dataset would cost."""
    prices = pd.DataFrame(
        {
            "model": list(dataset.PRICES_USD_PER_M),
            "USD per 1M training tokens": list(dataset.PRICES_USD_PER_M.values()),
        }
    )
    edited = st.data_editor(prices, key="ft_prices", hide_index=True)
    edited["estimated cost (USD)"] = [
        round(dataset.estimate_cost(stats, float(p or 0)), 4)
        for p in edited["USD per 1M training tokens"]
    ]
    st.dataframe(edited, hide_index=True)
    st.caption(
        f"Prices as of {dataset.PRICES_DATE}. Edit them above if they changed. "
        "Tokens are counted offline with a WordPiece tokenizer: an estimate within ~20%."
    )


# --------------------------------------------------------------------------- dataset
tab_data, tab_local, tab_openai, tab_models = st.tabs(
    ["1 · Dataset", "2 · Train locally", "3 · OpenAI jobs", "Models"]
)

with tab_data:
    source = st.radio("Start from", SOURCES, horizontal=True, key="ft_source")
    examples_in = load_source(source)
    st.caption(
        "Edit, add or delete rows. Grounded examples keep the numbered sources in the user turn."
    )
    rows = editor_rows(source, examples_in)
    parsed = builder.from_rows(rows)
    validation = dataset.validate_examples(list(enumerate(parsed, 1)))
    examples = list(validation.examples)
    if validation.errors:
        st.markdown(f"**{len(validation.errors)} problem(s)** — fix them in the table:")
    elif examples:
        st.caption(f"✅ {len(examples)} examples pass validation (format, roles, duplicates, length).")
    show_issues(validation.errors, "row")
    show_issues(validation.warnings, "row")
    if examples:
        epochs = st.number_input(
            "Epochs (OpenAI's 'auto' shown)",
            1,
            50,
            dataset.default_epochs(len(examples)),
            key="ft_epochs",
        )
        stats = dataset.statistics(examples, int(epochs))
        cols = st.columns(5)
        cols[0].metric("Examples", stats.n_examples)
        cols[1].metric(
            "Tokens per example",
            f"{stats.min_tokens}·{stats.mean_tokens:.0f}·{stats.max_tokens}",
            help="min · mean · max; an offline estimate close to OpenAI's tokenizer",
        )
        cols[2].metric("Tokens in the file", f"{stats.total_tokens:,}")
        cols[3].metric("Epochs", stats.epochs)
        cols[4].metric("Billed tokens", f"{stats.billed_tokens:,}")
        with st.expander("💲 OpenAI cost estimate", expanded=False):
            cost_table(stats)
        share = st.slider("Validation share", 0, 30, 10, step=5, format="%d%%", key="ft_val_share")
        train, val = builder.split(examples, share / 100, seed=0)
        st.caption(f"Train/validation split (seeded): {len(train)} train · {len(val)} validation.")
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "⬇️ All (JSONL)",
            dataset.to_jsonl(examples),
            "dataset.jsonl",
            "application/jsonl",
            key="ft_dl_all",
        )
        c2.download_button(
            "⬇️ Train split",
            dataset.to_jsonl(train),
            "train.jsonl",
            "application/jsonl",
            key="ft_dl_train",
        )
        c3.download_button(
            "⬇️ Validation split",
            dataset.to_jsonl(val),
            "validation.jsonl",
            "application/jsonl",
            key="ft_dl_val",
            disabled=not val,
        )
        st.session_state.ft_dataset = {
            "train": train, "val": val, "all": examples, "mean_tokens": stats.mean_tokens
        }
    else:
        st.session_state.ft_dataset = {"train": [], "val": [], "all": []}

current = st.session_state.ft_dataset

# --------------------------------------------------------------------------- local training
with tab_local:
    missing = missing_modules()
    if missing:
        st.info(
            f"Local training needs {', '.join(missing)}: run `make train-deps` to enable "
            "local training. The shipped adapter works without it."
        )
    else:
        job = current_job(data_dir)
        running = job is not None and job.running
        n = len(current["train"])
        mean_tokens = current.get("mean_tokens", 0.0)
        c1, c2, c3, c4 = st.columns(4)
        name = c1.text_input("Adapter name", "my-style", key="ft_name")
        default_steps = max(10, min(200, math.ceil(2 * n / 4))) if n else 30
        steps = c2.number_input("Steps (batch 4)", 1, 1000, default_steps, key="ft_steps")
        lr = c3.number_input("Learning rate", 1e-5, 1e-1, 2e-3, format="%.4f", key="ft_lr")
        seed = c4.number_input("Seed", 0, 10_000, 0, key="ft_seed")
        st.caption(
            f"LoRA r=8, alpha 16 on q/k/v/o of SmolLM2-135M, CPU, 2 threads. "
            f"{n} training examples ≈ {steps * 4 / max(n, 1):.1f} epochs; "
            f"≈ {duration(steps * SECONDS_PER_STEP_PER_TOKEN * mean_tokens)} of training "
            "on an idle 2-core machine, after ~20 s of loading (longer when it is busy)."
        )
        if st.button("🚀 Train", key="ft_train_start", disabled=running or not n, type="primary"):
            try:
                config = TrainConfig(steps=int(steps), lr=float(lr), seed=int(seed))
                unique = registry.unique_name(data_dir, name)
                start_job(data_dir, current["train"], config, unique, name.strip() or unique)
                st.rerun()
            except RagLabError as err:
                st.error(err.reason)

        @st.fragment(run_every=2.0 if running else None)
        def training_panel() -> None:
            job = current_job(data_dir)
            if job is None:
                st.caption("No training run yet in this app session.")
                return
            snap = job.snapshot()
            st.markdown(f"**{job.label}** · {snap['state']} · {snap['elapsed']:.0f} s")
            st.progress(
                snap["step"] / max(snap["total"], 1), text=f"step {snap['step']} of {snap['total']}"
            )
            if snap["losses"]:
                st.line_chart(
                    pd.DataFrame(snap["losses"], columns=["step", "loss"]).set_index("step"),
                    height=220,
                )
            if job.running:
                if st.button("⏹ Cancel", key="ft_train_cancel"):
                    job.cancel()
                    st.toast("Cancelling after the current step…")
            elif snap["state"] == "done" and snap["record"]:
                rec = snap["record"]
                st.success(
                    f"Registered **{rec.label}** ({rec.steps} steps, loss {rec.final_loss}). "
                    "Pick it in the sidebar model switch, or compare it on the Compare page."
                )
            elif snap["state"] == "failed":
                st.error(f"Training failed: {snap['error']}")
            elif snap["state"] == "cancelled":
                st.info("Training was cancelled; nothing was registered.")
            if running and not job.running:
                st.rerun()  # the run ended: refresh the whole page (and the sidebar's models)

        training_panel()

# --------------------------------------------------------------------------- OpenAI jobs
with tab_openai:
    key = current_secrets().get("openai", "")  # the sidebar's key, else env / secrets.toml
    if not key:
        st.info(
            "Fine-tuning on OpenAI needs an API key: add one in the sidebar settings or set "
            "OPENAI_API_KEY. Everything else on this page works offline."
        )
    else:
        try:
            client = oa.ft_client(key, settings.openai_base_url)
        except RagLabError as err:
            st.error(err.reason)
            client = None
        if client is not None:
            c1, c2, c3 = st.columns(3)
            base = c1.selectbox(
                "Base model", list(dataset.PRICES_USD_PER_M), index=1, key="ft_oa_model"
            )
            epochs_oa = c2.number_input("Epochs (0 = auto)", 0, 50, 0, key="ft_oa_epochs")
            suffix = c3.text_input("Suffix", "orbit-style", key="ft_oa_suffix", max_chars=18)
            if st.button(
                "⬆️ Upload and start the job", key="ft_oa_start", disabled=not current["train"]
            ):
                try:
                    train_id = oa.upload_training_file(client, current["train"], "train.jsonl")
                    val_id = (
                        oa.upload_training_file(client, current["val"], "validation.jsonl")
                        if current["val"]
                        else ""
                    )
                    job = oa.create_job(
                        client, train_id, base, int(epochs_oa) or None, suffix, val_id
                    )
                    st.session_state.ft_oa_job = job.id
                    st.session_state.ft_oa_examples = current["train"]
                except RagLabError as err:
                    st.error(err.reason)

            polling = st.session_state.get("ft_oa_job") not in (
                None,
                st.session_state.get("ft_oa_done"),
            )

            @st.fragment(run_every=5.0 if polling else None)
            def job_panel() -> None:
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

            job_panel()
            if st.button("📜 List past jobs", key="ft_oa_list"):
                try:
                    past = oa.list_jobs(client, limit=20)
                    st.dataframe(pd.DataFrame([j.__dict__ for j in past]), hide_index=True)
                except RagLabError as err:
                    st.error(err.reason)

# --------------------------------------------------------------------------- models
with tab_models:
    records = registry.list_records(data_dir)
    if not records:
        st.info("No fine-tuned models yet. The shipped adapter is made by `make adapter`.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "label": r.label,
                        "kind": r.kind,
                        "file / model": r.adapter or r.model_id,
                        "steps": r.steps,
                        "loss": r.final_loss,
                        "examples": r.n_examples,
                        "dataset": r.dataset_hash,
                        "seed": r.seed,
                        "date": r.created_at,
                        "where": "shipped" if folder == registry.SHIPPED_DIR else "data dir",
                    }
                    for folder, r in records
                ]
            ),
            hide_index=True,
        )
        st.caption(
            "Models appear in the sidebar model switch. A new local adapter makes the "
            "local model server restart once to load it."
        )
