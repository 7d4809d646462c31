"""Fine-tune: build a dataset (feedback, upload, editor), validate, cost; train a LoRA; OpenAI."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.frame import frame

frame("Fine-tune")

from lib import jobs  # noqa: E402
from lib.chat.feedback import load_feedback  # noqa: E402
from lib.finetune import builder, dataset, registry  # noqa: E402
from lib.finetune.lora import (  # noqa: E402
    TrainConfig,
    default_steps,
    estimate_seconds,
    missing_modules,
)
from lib.finetune.train_local import TrainJob  # noqa: E402
from lib.types import RagLabError  # noqa: E402
from ui.format import duration, plural  # noqa: E402
from ui.issues import show_issues  # noqa: E402
from ui.model_switch import current_secrets  # noqa: E402
from ui.openai_jobs import openai_jobs_tab  # noqa: E402
from ui.progress import job_status  # noqa: E402
from ui.resources import get_settings  # noqa: E402

SOURCES = ("Bundled Orbit style set", "Chat feedback", "Upload a JSONL file")
settings = get_settings()
data_dir = settings.data_dir

st.title("🛠️ Fine-tune")
st.caption(
    "*RAG changes what the model knows; fine-tuning changes how it behaves.* "
    "Teach the house style (tone, format, disclaimers), not facts: facts go stale, "
    "retrieval keeps them fresh. Then compare both on the **Compare** page."
)


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
    prices = pd.DataFrame({"model": list(dataset.PRICES_USD_PER_M),
                           "USD per 1M training tokens": list(dataset.PRICES_USD_PER_M.values())})
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
tabs = ["1 · Dataset", "2 · Train locally", "3 · OpenAI jobs", "Models"]
tab_data, tab_local, tab_openai, tab_models = st.tabs(tabs)

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
        st.caption(f"✅ {len(examples)} examples pass validation (format, roles, duplicates, "
                   "length).")
    show_issues(validation.errors, "row")
    show_issues(validation.warnings, "row")
    if examples:
        epochs = st.number_input("Epochs (OpenAI's 'auto' shown)", 1, 50,
                                 dataset.default_epochs(len(examples)), key="ft_epochs")
        stats = dataset.statistics(examples, int(epochs))
        cols = st.columns(5)
        cols[0].metric("Examples", stats.n_examples)
        cols[1].metric(  # the mean fits the column; the range goes below it
            "Tokens per example", f"{stats.mean_tokens:.0f}",
            delta=f"{stats.min_tokens}–{stats.max_tokens}", delta_color="off", delta_arrow="off",
            help="mean, then min–max; an offline estimate close to OpenAI's tokenizer",
        )
        cols[2].metric("Tokens in the file", f"{stats.total_tokens:,}")
        cols[3].metric("Epochs", stats.epochs)
        cols[4].metric("Billed tokens", f"{stats.billed_tokens:,}")
        with st.expander("💲 OpenAI cost estimate", expanded=False):
            cost_table(stats)
        share = st.slider("Validation share", 0, 30, 10, step=5, format="%d%%", key="ft_val_share")
        train, val = builder.split(examples, share / 100, seed=0)
        st.caption(f"Train/validation split (seeded): {len(train)} train · {len(val)} validation.")
        downloads = (("⬇️ All (JSONL)", examples, "dataset.jsonl", "ft_dl_all"),
                     ("⬇️ Train split", train, "train.jsonl", "ft_dl_train"),
                     ("⬇️ Validation split", val, "validation.jsonl", "ft_dl_val"))
        for col, (label, rows_, file, key) in zip(st.columns(3), downloads):
            col.download_button(label, dataset.to_jsonl(rows_), file, "application/jsonl",
                                key=key, disabled=not rows_)
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
        job = jobs.current(TrainJob, data_dir)
        running = job is not None and job.running
        n = len(current["train"])
        c1, c2, c3, c4 = st.columns(4)
        name = c1.text_input("Adapter name", "my-style", key="ft_name")
        steps = c2.number_input("Steps (batch 4)", 1, 1000, default_steps(n), key="ft_steps")
        lr = c3.number_input("Learning rate", 1e-5, 1e-1, 2e-3, format="%.4f", key="ft_lr")
        seed = c4.number_input("Seed", 0, 10_000, 0, key="ft_seed")
        st.caption(
            f"LoRA r=8, alpha 16 on q/k/v/o of SmolLM2-135M, CPU, 2 threads. "
            f"{plural(n, 'training example')} ≈ {steps * 4 / max(n, 1):.1f} epochs; "
            f"≈ {duration(estimate_seconds(steps, current.get('mean_tokens', 0.0)))} of training "
            "on an idle 2-core machine, after ~20 s of loading (longer when it is busy)."
        )
        if st.button("🚀 Train", key="ft_train_start", disabled=running or not n, type="primary"):
            try:
                config = TrainConfig(steps=int(steps), lr=float(lr), seed=int(seed))
                unique = registry.unique_name(data_dir, name)
                jobs.start(TrainJob(data_dir, current["train"], config, unique,
                                    name.strip() or unique))
                st.rerun()
            except RagLabError as err:
                st.error(err.reason)

        @st.fragment(run_every=2.0 if running else None)
        def training_panel() -> None:
            job = jobs.current(TrainJob, data_dir)
            if job is None:
                st.caption("No training run yet in this app session.")
                return
            snap = job.snapshot()
            box = job_status(snap, "step")
            if snap.detail.losses:
                losses = pd.DataFrame(snap.detail.losses, columns=["step", "loss"])
                box.line_chart(losses.set_index("step"), height=220)
            rec = snap.detail.record
            if snap.running:
                if box.button("⏹ Cancel", key="ft_train_cancel"):
                    job.cancel()
                    st.toast("Cancelling after the current step…")
            elif snap.state == "done" and rec:
                st.success(
                    f"Registered **{rec.label}** ({rec.steps} steps, loss {rec.final_loss}). "
                    "Pick it in the sidebar model switch, or compare it on the Compare page."
                )
            elif snap.state == "cancelled":
                st.info("Training was cancelled; nothing was registered.")
            if running and not snap.running:
                st.rerun()  # the run ended: refresh the whole page (and the sidebar's models)

        training_panel()

# --------------------------------------------------------------------------- OpenAI jobs
with tab_openai:
    openai_jobs_tab(current_secrets().get("openai", ""), settings.openai_base_url, data_dir,
                    current["train"], current["val"])

# --------------------------------------------------------------------------- models
with tab_models:
    records = registry.list_records(data_dir)
    if not records:
        st.info("No fine-tuned models yet. The shipped adapter is made by `make adapter`.")
    else:
        table = [{"label": r.label, "kind": r.kind, "file / model": r.adapter or r.model_id,
                  "steps": r.steps, "loss": r.final_loss, "examples": r.n_examples,
                  "dataset": r.dataset_hash, "seed": r.seed, "date": r.created_at,
                  "where": "shipped" if folder == registry.SHIPPED_DIR else "data dir"}
                 for folder, r in records]
        st.dataframe(pd.DataFrame(table), hide_index=True)
        st.caption(
            "Models appear in the sidebar model switch. A new local adapter makes the "
            "local model server restart once to load it."
        )
