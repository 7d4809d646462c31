"""Streamlit rendering of paired tests and the per-query diff (two methods or two runs)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.evaluation.diff import (
    Change,
    QueryComparison,
    RankedDoc,
    Side,
    compare_query,
    counts,
    only,
)
from lib.evaluation.diff import diff as query_diff
from lib.evaluation.report import SINGLE, EvaluationReport
from lib.evaluation.significance import all_pairs

FILTERS = {"All": None, "Regressed": Change.REGRESSED, "Improved": Change.IMPROVED,
           "Same": Change.SAME}


@st.cache_data(show_spinner=False, max_entries=32)
def _pairs(scores: dict[str, list[float]], metric: str):
    return all_pairs(scores, metric)


def show_significance(report: EvaluationReport, metric: str = "ndcg") -> None:
    """Every method pair: mean difference, bootstrap 95% interval and paired p-values."""
    scores = report.per_query_scores(metric)
    if len(scores) < 2 or min(len(v) for v in scores.values()) < 2:
        return
    tests = _pairs(scores, metric)
    st.markdown(f"**Is the difference real?** Paired tests on per-query {metric}@{report.k}")
    for t in tests:
        icon = "✅" if t.verdict == "better" else "➖"
        st.markdown(f"{icon} `{t.sentence()}` — {t.verdict} (Wilcoxon p = {t.wilcoxon:.3f})")
    st.caption(
        "[…] is the paired bootstrap 95% interval of the mean difference (10,000 resamples of "
        "the queries); p is a paired randomization test. An interval that contains 0 means "
        "the data cannot tell the two apart."
    )


def _doc_line(d: RankedDoc) -> str:
    mark = f"✅ rel {d.grade}" if d.relevant else ("❌ judged 0" if d.grade == 0 else "▫️")
    move = "🆕" if d.moved is None else "" if d.moved == 0 else f"{d.moved:+d}"
    return f"{d.rank}. {mark} `{d.doc}` {d.label[:60]} {move}".rstrip()


def show_comparison(c: QueryComparison, a: Side, b: Side) -> None:
    """Both ranked lists of one query side by side, and what neither retrieved."""
    st.write(f"**{c.text}**")
    for col, side, docs in zip(st.columns(2), (a, b), (c.a, c.b)):
        col.markdown(f"**{side.label}**")
        col.markdown("\n".join(_doc_line(d) for d in docs) or "_no results_")
    st.caption("✅ relevant (grade) · ❌ judged not relevant · ▫️ not judged · "
               "+n/−n places against the other list · 🆕 not in the other list")
    if c.missed:
        st.markdown("Relevant, retrieved by neither: "
                    + ", ".join(f"`{d}` ({g})" for d, g in c.missed))


def show_diff(a: Side, b: Side, k: int, key: str, metric: str = "ndcg") -> None:
    """Per-query table (regressions first, filterable) and the chosen query's two lists."""
    rows = query_diff(a, b, metric)
    if not rows:
        st.info("No query is judged on both sides.")
        return
    n = counts(rows)
    st.markdown(
        f"**{b.label}** against **{a.label}**: {n[Change.IMPROVED]} queries improved, "
        f"{n[Change.REGRESSED]} regressed, {n[Change.SAME]} unchanged ({metric}@{k})."
    )
    choice = st.radio("Show", list(FILTERS), horizontal=True, key=f"{key}_filter")
    shown = only(rows, FILTERS[choice])
    table = pd.DataFrame(
        [{"": r.change.arrow, "query": r.text[:90], a.label: r.a, b.label: r.b, "Δ": r.delta}
         for r in shown],
        columns=["", "query", a.label, b.label, "Δ"],
    )
    st.dataframe(table.style.format({a.label: "{:.3f}", b.label: "{:.3f}", "Δ": "{:+.3f}"}),
                 hide_index=True, key=f"{key}_table")
    if not shown:
        return
    labels = {r.id: f"{r.change.arrow} {r.delta:+.2f} · {r.text[:90]}" for r in shown}
    qid = st.selectbox("Open a query", list(labels), format_func=labels.get, key=key)
    show_comparison(compare_query(a, b, qid), a, b)


def show_method_diff(report: EvaluationReport) -> None:
    """Pick two methods of one report and diff them per query."""
    methods = list(report.methods)
    if len(methods) < 2 or not report.queries:
        return
    st.markdown("**Per query:** which queries one method improves or hurts against another")
    best_single = max((m for m in SINGLE if m in methods), default=methods[0],
                      key=lambda m: report.methods[m].ndcg)
    default_b = "hybrid" if "hybrid" in methods and best_single != "hybrid" else methods[-1]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Baseline (A)", methods, index=methods.index(best_single), key="eval_diff_a")
    b = c2.selectbox("Compared (B)", methods, index=methods.index(default_b), key="eval_diff_b")
    show_diff(Side.of(report, a), Side.of(report, b), report.k, "eval_query")
