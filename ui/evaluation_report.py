"""Streamlit rendering of an EvaluationReport: table, bar chart, sweep curve, per-query drill-down."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from lib.evaluation.api import SWEEPS
from lib.evaluation.report import TIE, EvaluationReport, QueryOutcome, metric_names
from lib.retrieval.fusion import FusionMode


def show_report(report: EvaluationReport) -> None:
    """Table, bar chart, sweep chart and per-query drill-down of one saved report."""
    names = metric_names(report.k)
    s, f = report.settings, report.settings.fusion
    st.subheader(f"Results: {report.dataset} · {report.n_queries} judged queries")
    knobs = f"RRF k {f.rrf_k}" if f.mode is FusionMode.RRF else f"α {f.alpha}, {f.normalization}"
    st.caption(
        f"Fusion: {f.mode} ({knobs}, {f.depth} candidates) · embedder {s.embedder} · "
        f"{s.aggregation} · saved {report.saved_at}"
    )
    table = pd.DataFrame(report.metric_table()).T[names]
    st.dataframe(
        table.style.format("{:.4f}").highlight_max(axis=0, color="#d4edda"), key="eval_table"
    )
    rows = [
        {"method": m, "metric": n, "value": v}
        for m, figures in report.metric_table().items()
        for n, v in figures.items()
    ]
    bars = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("metric:N", sort=names, title=None),
            xOffset="method:N",
            y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])),
            color="method:N",
            tooltip=["method", "metric", alt.Tooltip("value:Q", format=".4f")],
        )
    )
    st.altair_chart(bars, width="stretch")
    show_sweep(report)
    show_drilldown(report)


def show_sweep(report: EvaluationReport) -> None:
    """nDCG@k along the swept parameter, each single method as a horizontal reference line."""
    curve = report.sweep
    if curve is None or not curve.points:
        return
    label = SWEEPS[curve.parameter]
    st.markdown(f"**Sweep:** hybrid {curve.metric} as a function of {label}")
    points = pd.DataFrame([{"value": p.value, "ndcg": p.metrics.ndcg} for p in curve.points])
    line = (
        alt.Chart(points)
        .mark_line(point=True)
        .encode(
            x=alt.X("value:Q", title=label),
            y=alt.Y("ndcg:Q", title=curve.metric, scale=alt.Scale(zero=False)),
            tooltip=["value", alt.Tooltip("ndcg:Q", format=".4f")],
        )
    )
    refs = pd.DataFrame([{"method": m, "ndcg": v} for m, v in curve.reference.items()])
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=[6, 4])
        .encode(y="ndcg:Q", color="method:N", tooltip=["method", "ndcg"])
    )
    st.altair_chart(line + rules, width="stretch")


def _mark(delta: float) -> str:
    return "🟢" if delta > TIE else "🔴" if delta < -TIE else "⚪"


def _ranked_markdown(outcome: QueryOutcome, docs: tuple[str, ...]) -> str:
    """A numbered list; relevant documents ticked, titles shown when ids are not names."""
    lines = [
        f"{i}. {'✅' if outcome.relevant.get(d, 0) > 0 else '▫️'} `{d}` "
        f"{outcome.labels.get(d, '')[:60]}"
        for i, d in enumerate(docs, start=1)
    ]
    return "\n".join(lines) or "_no results_"


def show_drilldown(report: EvaluationReport) -> None:
    """Queries where hybrid wins or loses against the better single method, with the lists."""
    deltas = report.query_deltas()
    if not deltas:
        return
    counts = report.win_loss()
    st.markdown(
        f"**Per query:** hybrid beats the better single method on {counts.wins} queries, "
        f"ties on {counts.ties}, loses on {counts.losses}."
    )
    shown = [r for r in deltas if abs(r.delta) > TIE] or deltas
    labels = {r.id: f"{_mark(r.delta)} {r.delta:+.2f} · {r.text[:90]}" for r in shown}
    qid = st.selectbox("Query", list(labels), format_func=labels.get, key="eval_query")
    outcome = report.outcome(qid)
    st.write(
        f"**{outcome.text}** — relevant: "
        + ", ".join(f"`{d}` ({g})" for d, g in outcome.relevant.items() if g > 0)
    )
    for col, (method, docs) in zip(st.columns(len(outcome.ranked)), outcome.ranked.items()):
        col.markdown(f"**{method}** · nDCG {outcome.metrics[method].ndcg:.3f}")
        col.markdown(_ranked_markdown(outcome, docs))
