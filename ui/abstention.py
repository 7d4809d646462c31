"""Streamlit rendering of the abstention curve: pick and save Chat's confidence threshold."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.abstention import AbstentionCurve, read_scoped, score_questions
from lib.generation.rag import DEFAULT_MIN_CONFIDENCE
from lib.tuning import app_min_confidence, save_min_confidence
from lib.types import RagLabError

SAMPLE_QUESTIONS = SAMPLE_DOCS_DIR / "eval" / "queries.jsonl"


def _chart(curve: AbstentionCurve, marks: dict[str, float]) -> alt.Chart:
    points = pd.DataFrame([{"threshold": p.threshold, "answered": p.answered,
                            "false answers": p.false_answers} for p in curve.points])
    x = alt.X("false answers:Q", title="out-of-scope questions answered anyway",
              scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("answered:Q", title="in-scope questions answered", scale=alt.Scale(domain=[0, 1]))
    # drawn in threshold order (high to low): the curve climbs as the threshold drops
    line = alt.Chart(points).mark_line(point=True).encode(
        x=x, y=y, order=alt.Order("threshold:Q", sort="descending"),
        tooltip=[alt.Tooltip("threshold:Q", format=".3f"), "answered", "false answers"])
    chosen = pd.DataFrame([{"which": name, "answered": curve.at(t).answered,
                            "false answers": curve.at(t).false_answers, "threshold": t}
                           for name, t in marks.items()])
    dots = alt.Chart(chosen).mark_point(size=260, filled=False, strokeWidth=3).encode(
        x="false answers:Q", y="answered:Q", color=alt.Color("which:N", title=None),
        shape=alt.Shape("which:N", title=None),
        tooltip=["which", alt.Tooltip("threshold:Q", format=".3f")])
    return line + dots


def _questions():
    """The sample questions, or the user's labelled file (an `in_scope` column)."""
    upload = st.file_uploader("Your labelled questions (JSON lines: text + in_scope true/false)",
                              type=["jsonl", "json"], key="eval_scope_upload")
    if upload is None:
        return "the sample questions", read_scoped(SAMPLE_QUESTIONS.read_text(encoding="utf-8"))
    return upload.name, read_scoped(upload.getvalue().decode("utf-8-sig"), upload.name)


def show_abstention(store, data_dir: Path) -> None:
    """Score labelled questions, draw the curve, and save a new threshold for Chat."""
    st.divider()
    st.subheader("🛑 When should Chat say “I don't know”?")
    st.caption("Chat abstains when the best chunk's similarity is below a threshold. Each point "
               "is one threshold: how many answerable questions still get an answer, and how "
               "many questions the documents do not cover get one anyway.")
    if store.n_chunks == 0:
        st.info("Ingest documents first: the curve scores questions against your index.")
        return
    try:
        name, questions = _questions()
    except RagLabError as err:
        st.error(err.reason)
        return
    if st.button("📈 Draw the abstention curve", key="eval_scope_run"):
        with st.spinner(f"Scoring {len(questions)} questions…"):
            st.session_state.eval_scope_curve = (name, score_questions(store, questions))
    if "eval_scope_curve" not in st.session_state:
        return
    name, curve = st.session_state.eval_scope_curve
    current = app_min_confidence(data_dir)
    picked = st.slider("Threshold", 0.0, 1.0, float(round(current, 2)), 0.01,
                       key="eval_scope_threshold")
    marks = {"the app's threshold": current, "best accuracy": curve.best(), "your pick": picked}
    st.altair_chart(_chart(curve, marks), width="stretch")
    at = curve.at(picked)
    st.markdown(
        f"On {name} ({len(curve.in_scope)} in scope, {len(curve.out_of_scope)} out of scope), "
        f"a threshold of **{picked:.2f}** answers **{at.answered:.0%}** of in-scope questions "
        f"and **{at.false_answers:.0%}** of out-of-scope ones (the app uses {current:.2f}; "
        f"best accuracy at {curve.best():.2f}; built-in default {DEFAULT_MIN_CONFIDENCE})."
    )
    if st.button("💾 Use this threshold in Chat", key="eval_scope_save"):
        save_min_confidence(data_dir, picked, f"abstention curve on {name}")
        st.toast(f"Saved: Chat now abstains below {picked:.2f}.")
        st.rerun()
