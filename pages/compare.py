"""Compare: the 2×2 grid — base vs fine-tuned, each with RAG off and on — scored by code."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.frame import frame

frame("Compare")

from lib import jobs  # noqa: E402
from lib.compare.batch import BatchRun, question_sets  # noqa: E402
from lib.compare.grid import (  # noqa: E402
    PRESETS,
    CellResult,
    GridContext,
    cells,
    iter_grid,
    prepare,
    preset_fact,
)
from lib.compare.results import GridSummary, load_results  # noqa: E402
from lib.compare.style import RULE_IDS  # noqa: E402
from lib.generation.models import LOCAL_BASE, LOCAL_FINE_TUNED, list_models  # noqa: E402
from lib.types import RagLabError  # noqa: E402
from ui.compare_drilldown import show_batch_drilldown  # noqa: E402
from ui.model_switch import current_secrets, model_for  # noqa: E402
from ui.progress import job_status  # noqa: E402
from ui.resources import get_settings, store_or_stop  # noqa: E402
from ui.scorecard import cell_caption, scorecard_table  # noqa: E402
from ui.walkthrough import mark  # noqa: E402

settings = get_settings()

st.title("⚖️ Compare")
st.caption(
    "One question, four answers: **base** vs **fine-tuned**, each with **RAG off** and "
    "**on**. RAG brings the facts, fine-tuning brings the house style — the scorecard "
    f"under the grid is computed by code (style rules {RULE_IDS[0]}–{RULE_IDS[-1]}, grounding, "
    "length)."
)

store = store_or_stop()
if store.n_chunks == 0:
    st.info(
        "The index is empty: load the sample documents on the Documents page first "
        "(RAG-on cells need something to retrieve)."
    )
    st.page_link("pages/documents.py", label="Go to Documents", icon="📄")
    st.stop()

secrets = current_secrets()  # what the sidebar's Providers settings hold, else env
usable = [o.spec for o in list_models(settings, secrets) if o.available]
labels = [s.label for s in usable]
if not labels:
    st.error("No model is available.")
    st.stop()
tuned_default = LOCAL_FINE_TUNED if LOCAL_FINE_TUNED in labels else labels[-1]
c1, c2 = st.columns(2)
base_label = c1.selectbox(
    "Base model",
    labels,
    index=labels.index(LOCAL_BASE) if LOCAL_BASE in labels else 0,
    key="cmp_base",
)
tuned_label = c2.selectbox(
    "Fine-tuned model", labels, index=labels.index(tuned_default), key="cmp_tuned"
)
grid = cells(
    model_for(next(s for s in usable if s.label == base_label)),
    model_for(next(s for s in usable if s.label == tuned_label)),
)
ctx = GridContext(index=store, data_dir=settings.data_dir)

st.session_state.setdefault("cmp_question", PRESETS[0].question)


def use_preset(question: str) -> None:
    st.session_state.cmp_question = question


st.caption(
    "Preset questions from the sample story (each price changed recently — a stale answer is easy to spot):"
)
for col, (i, preset) in zip(st.columns(len(PRESETS)), enumerate(PRESETS)):
    col.button(
        preset.short or preset.question,
        key=f"cmp_preset_{i}",
        on_click=use_preset,
        args=(preset.question,),
        help=f"“{preset.question}” The documents say {preset.fact} ({preset.note}).",
        width="stretch",
    )
question = st.text_input("Question", key="cmp_question")
expected = preset_fact(question)


def render_saved(results: list[CellResult], fact: str) -> None:
    for row, pair in enumerate((results[:2], results[2:])):
        for col, r in zip(st.columns(2), pair):
            with col.container(border=True):
                st.markdown(f"**{r.label}**")
                if r.error:
                    st.error(r.error)
                else:
                    st.markdown(r.text)
                if r.card is not None:
                    st.caption(cell_caption(r, fact))


if st.button("▶️ Run the grid", key="cmp_run", type="primary", disabled=not question.strip()):
    try:
        with st.spinner("Retrieving and starting the local model…"):
            retrieval = prepare(question, ctx)
            for cell in grid:
                cell.model.ensure()  # local: loads every adapter once (cached per model)
    except RagLabError as err:
        st.error(err.reason)
        st.stop()
    boxes = []
    for pair in (grid[:2], grid[2:]):
        for col, cell in zip(st.columns(2), pair):
            box = col.container(border=True)
            box.markdown(f"**{cell.label}**")
            boxes.append(box)
    done = {}
    for i, result in iter_grid(question, grid, ctx, retrieval, expected,
                               consume=lambda i, stream: boxes[i].write_stream(stream)):
        done[i] = result
        if result.error:
            boxes[i].error(result.error)
        else:
            boxes[i].caption(cell_caption(result, expected))
    results = [done[i] for i in range(len(grid))]
    mark("grid")
    st.session_state.cmp_last = {
        "question": question,
        "results": results,
        "sources": [h.chunk.doc_name for h in retrieval.hits],
    }
elif last := st.session_state.get("cmp_last"):
    st.caption(f"Last run: *{last['question']}*")
    render_saved(last["results"], preset_fact(last["question"]))

if last := st.session_state.get("cmp_last"):
    st.subheader("Scorecard")
    # st.table is static: every row and column shown, text wrapped
    st.table(scorecard_table(last["results"], preset_fact(last["question"])))
    st.caption(
        "Sources retrieved once for the question: "
        + ", ".join(f"[{i}] {name}" for i, name in enumerate(last["sources"], 1))
        + ". RAG-off cells are scored against the same sources (they never saw them)."
    )

# --------------------------------------------------------------------------- batch mode
st.divider()
st.subheader("Batch mode")
SETS = question_sets()
chosen = st.radio("Question set", list(SETS), horizontal=True, key="cmp_batch_set")
pool = SETS[chosen]
st.caption(
    f"Run the grid over {len(pool)} sample questions and average each cell. "
    "Results are saved for the Decision guide."
)
n = (
    st.slider("Questions", 1, len(pool), min(len(pool), 10), key="cmp_batch_n")
    if len(pool) > 1
    else 1
)
run = jobs.current(BatchRun, settings.data_dir)
running = run is not None and run.running
if st.button("▶️ Run batch", key="cmp_batch_start", disabled=running):
    try:
        jobs.start(BatchRun(pool[:n], grid, ctx))
        st.rerun()
    except RagLabError as err:
        st.error(err.reason)


def averages_table(summary: GridSummary) -> pd.DataFrame:
    """Rows = averages (rule ids from lib.compare.style), columns = cells."""
    return pd.DataFrame({
        c.label: {"style_score": c.style.style_score, "grounded": c.style.grounded,
                  "expected_fact": c.expected_fact, "grounding_check": c.grounding_check,
                  "facts_ok": c.style.facts_ok,
                  "cites_source": c.style.cites_source, **c.style.rules,
                  "words": c.style.words, "seconds": c.seconds, "n": c.style.n}
        for c in summary.cells
    })


@st.fragment(run_every=2.0 if running else None)
def batch_panel() -> None:
    run = jobs.current(BatchRun, settings.data_dir)
    if run is not None:
        snap = run.snapshot()
        box = job_status(snap, "question")
        if snap.running and box.button("⏹ Cancel batch", key="cmp_batch_cancel"):
            run.cancel()
        if snap.detail.summary:
            box.dataframe(averages_table(snap.detail.summary))
        if snap.detail.path:
            st.caption(f"Saved to `{snap.detail.path}`.")
        if running and not snap.running:
            st.rerun()
    elif saved := load_results(settings.data_dir):
        st.caption(f"Last saved batch ({saved.n_questions} questions, {saved.created_at}):")
        st.dataframe(averages_table(saved.summary))
        show_batch_drilldown(saved)


batch_panel()
