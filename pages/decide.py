"""Decision guide: RAG, fine-tuning or both, from your answers and what the app measured."""

import time

import streamlit as st

from ui.frame import frame

frame("Decision guide")

from lib.decision.answers import Answers, load_answers, save_answers  # noqa: E402
from lib.decision.evidence import gather  # noqa: E402
from lib.decision.logic import recommend  # noqa: E402
from lib.decision.report import ReportData  # noqa: E402
from lib.types import RagLabError  # noqa: E402
from ui.decide import (  # noqa: E402
    answers_form,
    cost_calculator,
    render_evidence,
    render_recommendation,
    report_downloads,
)
from ui.resources import get_settings, get_store  # noqa: E402

st.title("🧭 Decision guide")
st.markdown(
    "*RAG changes what the model **knows** at answer time; fine-tuning changes how it "
    "**behaves**.* Tick your problems, answer five questions, and check the verdict against "
    "what this app measured on your documents."
)

settings = get_settings()
data_dir = settings.data_dir
try:
    store = get_store()
    chunks, embedder = store.n_chunks, store.embedder.name
except RagLabError as err:
    st.error(err.reason)
    chunks, embedder = None, settings.embedder

saved = load_answers(data_dir)
saved_answers, saved_at = saved if saved else (Answers(), "")

left, right = st.columns([3, 2], gap="large")
with left:
    answers = answers_form(saved_answers)
# Saved on every change (not on a button): the answers survive page switches and restarts,
# and the home page's last check mark reads this file.
if answers != saved_answers:
    saved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save_answers(data_dir, answers, saved_at)
left.caption(
    f"Answers saved {saved_at} in the data folder." if saved_at else "Nothing answered yet."
)

evidence = gather(data_dir, chunks, chunk_size=settings.chunk_size)
recommendation = recommend(answers, evidence)
with right:
    render_recommendation(recommendation, shown_below=evidence.missing)

st.divider()
render_evidence(evidence)
st.divider()
cost = cost_calculator(evidence)

st.divider()
st.subheader("Report for stakeholders")
st.caption("One self-contained HTML file (opens offline, prints on A4) and the same in Markdown.")
report_settings = (
    ("Embedder", embedder),
    ("Chunking", f"{settings.chunk_size} MiniLM tokens, overlap {settings.chunk_overlap}"),
    ("Chat model", str(st.session_state.get("model", ""))),
    (
        "2x2 models",
        f"{evidence.grid.base} vs {evidence.grid.fine_tuned}" if evidence.grid else "no batch yet",
    ),
    ("Documents indexed", f"{chunks} chunks" if chunks is not None else "index unavailable"),
)
generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
report_downloads(ReportData(answers, recommendation, evidence, generated, cost, report_settings))
