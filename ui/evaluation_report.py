"""Streamlit rendering of an EvaluationReport: table, bar chart, sweep curve, per-query drill-down."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from lib.evaluation.api import SWEEPS
from lib.evaluation.report import EvaluationReport, metric_names
from lib.retrieval.fusion import FusionMode
from ui.evaluation_diff import show_method_diff, show_significance


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


def show_drilldown(report: EvaluationReport) -> None:
    """Paired tests for every method pair, then the per-query diff of two chosen methods."""
    show_significance(report)
    show_method_diff(report)
