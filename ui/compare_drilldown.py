"""Streamlit drill-down of a saved 2×2 batch: paired tests per cell pair, then one question's cells."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.compare.paired import cell_keys, fact_tests, style_tests
from lib.compare.results import BatchResults, CellRow


def _mark(value: bool | None) -> str:
    return "—" if value is None else "✅" if value else "❌"


def _cell(col, label: str, row: CellRow | None) -> None:
    col.markdown(f"**{label}**")
    if row is None:
        col.caption("not run")
        return
    if row.error:
        col.error(row.error)
        return
    col.markdown(row.answer or "_empty answer_")
    score = "—" if row.style_score is None else f"{row.style_score:.0%}"
    col.caption(f"states the fact {_mark(row.expected_fact)} · style rules {score} · "
                f"grounded {_mark(row.grounded)} · cites {_mark(row.cites_source)}"
                + (" · abstained" if row.abstained else ""))
    rules = " ".join(f"{r} {_mark(v)}" for r, v in row.rules.items() if v is not None)
    if rules:
        col.caption(rules)
    if row.sources:
        col.caption("Sources: " + "; ".join(row.sources))


def show_tests(results: BatchResults) -> None:
    """McNemar on "states the fact" and a paired test on style share, for every cell pair."""
    facts, styles = fact_tests(results), style_tests(results)
    if not facts and not styles:
        return
    st.markdown(f"**Is the difference real?** Paired over the batch's {results.n_questions} "
                "questions (✅ = significant at p < 0.05)")
    rows = []
    for t in facts:
        rows.append({"": "✅" if t.significant else "➖", "test": "states the fact (McNemar)",
                     "result": t.sentence()})
    for s in styles:
        rows.append({"": "✅" if s.test.significant else "➖", "test": "style-rule share",
                     "result": s.test.sentence()})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="cmp_tests")


def show_batch_drilldown(results: BatchResults) -> None:
    """The paired tests, then one question's four cells: answer, scorecard, sources."""
    if not results.questions:
        return
    show_tests(results)
    keys = cell_keys(results)
    disagree = [q for q in results.questions
                if len({q.cells[k].expected_fact for k in keys if k in q.cells} - {None}) > 1]
    only = st.toggle(f"Only questions where cells disagree on the fact ({len(disagree)})",
                     key="cmp_drill_disagree", value=bool(disagree))
    shown = disagree if only and disagree else list(results.questions)
    labels = {q.id: q.text[:90] for q in shown}
    qid = st.selectbox("Question", list(labels), format_func=labels.get, key="cmp_drill_q")
    question = next(q for q in shown if q.id == qid)
    if question.expected:
        st.caption(f"Expected fact: {question.expected}")
    for col, key in zip(st.columns(len(keys)), keys):
        row = question.cells.get(key)
        label = next((c.label for c in results.summary.cells if c.key == key), key)
        _cell(col, label, row)
