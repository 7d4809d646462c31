"""Streamlit rendering of an EvaluationReport: table, bar chart, sweep curve, per-query drill-down."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from lib.evaluation.api import SWEEPS
from lib.evaluation.recommend import recommend
from lib.evaluation.report import EvaluationReport, metric_names
from lib.retrieval.fusion import FusionMode
from lib.tuning import app_fusion, save_fusion
from ui.evaluation_diff import show_method_diff, show_significance
from ui.format import fusion_label

SEARCH_FUSION_WIDGETS = ("search_mode", "search_rrf_k", "search_alpha", "search_normalization",
                         "search_depth")


def show_report(report: EvaluationReport, data_dir: Path | None = None) -> None:
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
    if (rec := recommend(report)) is not None:
        (st.warning if rec.changed else st.info)(f"**Recommendation:** {rec.reason}")
    show_sweep(report, data_dir)
    show_drilldown(report)


def show_sweep(report: EvaluationReport, data_dir: Path | None = None) -> None:
    """nDCG@k along the swept parameter with its 95% band; single methods as reference lines."""
    curve = report.sweep
    if curve is None or not curve.points:
        return
    label = SWEEPS[curve.parameter]
    st.markdown(f"**Sweep:** hybrid {curve.metric} as a function of {label}")
    points = pd.DataFrame([
        {"value": p.value, "ndcg": p.metrics.ndcg,
         "low": p.metrics.ndcg if p.ci_low is None else p.ci_low,
         "high": p.metrics.ndcg if p.ci_high is None else p.ci_high,
         "mark": "as good as the best" if p.near_best is not False else "worse than the best"}
        for p in curve.points
    ])
    x = alt.X("value:Q", title=label)
    band = alt.Chart(points).mark_area(opacity=0.2).encode(x=x, y="low:Q", y2="high:Q")
    line = alt.Chart(points).mark_line().encode(
        x=x, y=alt.Y("ndcg:Q", title=curve.metric, scale=alt.Scale(zero=False)))
    dots = alt.Chart(points).mark_point(filled=True, size=70).encode(
        x=x, y="ndcg:Q",
        shape=alt.Shape("mark:N", title=None),
        tooltip=["value", alt.Tooltip("ndcg:Q", format=".4f"), alt.Tooltip("low:Q", format=".4f"),
                 alt.Tooltip("high:Q", format=".4f"), "mark"],
    )
    refs = pd.DataFrame([{"method": m, "ndcg": v} for m, v in curve.reference.items()])
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=[6, 4])
        .encode(y="ndcg:Q", color="method:N", tooltip=["method", "ndcg"])
    )
    st.altair_chart(band + line + dots + rules, width="stretch")
    marked = [p for p in curve.points if p.near_best]
    if marked:
        st.caption(
            f"Band: bootstrap 95% interval of the mean. Best {label} = {curve.best().value:g}; "
            f"not significantly worse (paired test, p ≥ 0.05): "
            + ", ".join(f"{p.value:g}" for p in marked) + "."
        )
    if data_dir is not None:
        use_sweep_settings(report, data_dir)


def use_sweep_settings(report: EvaluationReport, data_dir: Path) -> None:
    """Pick a point of the sweep and make its fusion the app's (Search lab and Chat)."""
    curve = report.sweep
    assert curve is not None
    values = [p.value for p in curve.points]
    c1, c2 = st.columns([1, 2])
    value = c1.selectbox(SWEEPS[curve.parameter], values, index=values.index(curve.best().value),
                         format_func=lambda v: f"{v:g}", key="eval_use_value")
    knob = int(value) if curve.key == "rrf_k" else float(value)
    chosen = replace(report.settings.fusion, mode=curve.mode, normalization=curve.normalization,
                     depth=curve.depth, **{curve.key: knob})
    if c2.button("✅ Use these settings in the app", key="eval_use_settings"):
        source = f"sweep of {SWEEPS[curve.parameter]} on {report.dataset}"
        save_fusion(data_dir, chosen, f"{source}, run {report.run_id}" if report.run_id else source)
        # the Search lab keeps its widgets across pages (ui.frame.KEPT_WIDGETS): drop them so
        # it starts from the saved fusion instead of what was last typed there
        for key in SEARCH_FUSION_WIDGETS:
            st.session_state.pop(key, None)
        st.toast("Saved: the Search lab and Chat now use these fusion settings.")
    st.caption(f"The app searches with: {fusion_label(app_fusion(data_dir))}.")


def show_drilldown(report: EvaluationReport) -> None:
    """Paired tests for every method pair, then the per-query diff of two chosen methods."""
    show_significance(report)
    show_method_diff(report)
