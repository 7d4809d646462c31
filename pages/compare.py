"""Compare: the 2×2 grid — base vs fine-tuned, each with RAG off and on — scored by code."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from ui.frame import frame

frame("Compare")

from lib.compare.batch import current_batch, start_batch  # noqa: E402
from lib.compare.grid import (  # noqa: E402
    PRESETS,
    Cell,
    CellResult,
    GridContext,
    cells,
    execution_order,
    grounded_questions,
    load_results,
    prepare,
    result_of,
    start_cell,
)
from lib.generation.models import LOCAL_BASE, LOCAL_FINE_TUNED, list_models  # noqa: E402
from lib.samples import labelled_queries  # noqa: E402
from lib.types import RagLabError  # noqa: E402
from ui.model_switch import current_secrets, model_for  # noqa: E402
from ui.resources import get_settings, store_or_stop  # noqa: E402

MARK = {True: "✅", False: "❌", None: "–"}
settings = get_settings()

st.title("⚖️ Compare")
st.caption(
    "One question, four answers: **base** vs **fine-tuned**, each with **RAG off** and "
    "**on**. RAG brings the facts, fine-tuning brings the house style — the scorecard "
    "under the grid is computed by code (style rules R1–R6, grounding, length)."
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
expected = next((p.fact for p in PRESETS if p.question == question), "")


def scorecard_table(results: list[CellResult]) -> pd.DataFrame:
    """Rows = checks, columns = cells."""
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
        if r.expected_found is not None:
            rows.setdefault(f"states {expected}", {})[col] = MARK[r.expected_found]
        rows.setdefault("length", {})[col] = (
            f"{card.words} words, {card.sentences} sentence{'s' if card.sentences != 1 else ''}"
        )
        rows.setdefault("latency", {})[col] = f"{r.seconds:.1f} s (first token {r.ttft_s:.1f} s)"
    return pd.DataFrame(rows).T


def cell_caption(r: CellResult, fact: str) -> str:
    """The one-line scorecard under a cell: latency, style, grounding, the preset's fact."""
    assert r.card is not None
    line = (f"⏱ {r.seconds:.1f} s · style {r.card.style_passed}/{r.card.style_applicable}"
            f" · grounded {MARK[r.card.grounded]}")
    if fact and r.expected_found is not None:
        line += f" · states {fact} {MARK[r.expected_found]}"
    return line


def stream_cell(cell: Cell, retrieval, box) -> CellResult:
    """Stream one cell into its box; errors stay in the cell."""
    started = time.perf_counter()
    with box:
        try:
            stream = start_cell(cell, question, ctx)
            st.write_stream(stream)
        except RagLabError as err:
            st.error(err.reason)
            return CellResult(
                cell.key, cell.label, error=err.reason, seconds=time.perf_counter() - started
            )
        result = result_of(cell, question, retrieval, stream, time.perf_counter() - started,
                           expected)
        st.caption(cell_caption(result, expected))
    return result


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
    done = {i: stream_cell(grid[i], retrieval, boxes[i]) for i in execution_order(grid)}
    results = [done[i] for i in range(len(grid))]
    st.session_state.cmp_last = {
        "question": question,
        "results": results,
        "sources": [h.chunk.doc_name for h in retrieval.hits],
    }
elif last := st.session_state.get("cmp_last"):
    st.caption(f"Last run: *{last['question']}*")
    render_saved(last["results"], next((p.fact for p in PRESETS if p.question == last["question"]), ""))

if last := st.session_state.get("cmp_last"):
    st.subheader("Scorecard")
    st.table(scorecard_table(last["results"]))  # static: every row and column, text wrapped
    st.caption(
        "Sources retrieved once for the question: "
        + ", ".join(f"[{i}] {name}" for i, name in enumerate(last["sources"], 1))
        + ". RAG-off cells are scored against the same sources (they never saw them)."
    )

# --------------------------------------------------------------------------- batch mode
st.divider()
st.subheader("Batch mode")
SETS = {
    "Grounded questions (with expected facts)": grounded_questions()
    or [(f"preset-{i}", p.question, p.fact) for i, p in enumerate(PRESETS)],
    "Labelled search queries": [(q.id, q.text, "") for q in labelled_queries()],
}
chosen = st.radio(
    "Question set", [k for k, v in SETS.items() if v], horizontal=True, key="cmp_batch_set"
)
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
run = current_batch(settings.data_dir)
running = run is not None and run.running
if st.button("▶️ Run batch", key="cmp_batch_start", disabled=running):
    try:
        start_batch(pool[:n], grid, ctx)
        st.rerun()
    except RagLabError as err:
        st.error(err.reason)


def averages_table(summary: dict) -> pd.DataFrame:
    keys = [
        "style_score",
        "grounded",
        "expected_fact",
        "facts_ok",
        "cites_source",
        "R1",
        "R2",
        "R3",
        "R4",
        "R5",
        "R6",
        "words",
        "seconds",
        "n",
    ]
    return pd.DataFrame({v["label"]: {k: v.get(k) for k in keys} for v in summary.values()})


@st.fragment(run_every=2.0 if running else None)
def batch_panel() -> None:
    run = current_batch(settings.data_dir)
    if run is not None:
        snap = run.snapshot()
        st.progress(
            snap["done"] / max(snap["total"], 1),
            text=f"{snap['state']}: {snap['done']} of {snap['total']} questions · {snap['elapsed']:.0f} s",
        )
        if run.running and st.button("⏹ Cancel batch", key="cmp_batch_cancel"):
            run.cancel()
        if snap["error"]:
            st.error(snap["error"])
        if snap["summary"]:
            st.dataframe(averages_table(snap["summary"]))
        if snap["path"]:
            st.caption(f"Saved to `{snap['path']}`.")
        if running and not run.running:
            st.rerun()
    elif saved := load_results(settings.data_dir):
        st.caption(f"Last saved batch ({saved['n_questions']} questions, {saved['created_at']}):")
        st.dataframe(averages_table(saved["cells"]))


batch_panel()
