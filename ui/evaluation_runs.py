"""Streamlit rendering of the saved runs: a table, and any two runs compared per query."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lib.evaluation.diff import Side
from lib.evaluation.report import EvaluationReport
from lib.evaluation.runs import compare_runs, list_runs
from lib.retrieval.fusion import FusionMode
from ui.evaluation_diff import show_diff


def _fusion(report: EvaluationReport) -> str:
    f = report.settings.fusion
    knobs = f"k {f.rrf_k}" if f.mode is FusionMode.RRF else f"α {f.alpha} {f.normalization}"
    return f"{f.mode} {knobs}, depth {f.depth}"


def _row(r: EvaluationReport) -> dict:
    chunking = r.settings.chunking
    size = chunking.get("size")
    return {
        "run": r.run_id,
        "dataset": r.dataset,
        "saved": r.saved_at,
        "queries": r.n_queries,
        **{f"{m} nDCG@{r.k}": round(v.ndcg, 4) for m, v in r.methods.items()},
        "fusion": _fusion(r),
        "embedder": r.settings.embedder,
        "chunks": f"{size} tokens" if size else "whole documents" if chunking else "",
        "data": r.fingerprint[:8],
    }


@st.cache_data(show_spinner=False, max_entries=4)
def _runs(data_dir: str, stamp: tuple) -> list[EvaluationReport]:
    return list_runs(Path(data_dir))


def _stamp(data_dir: Path) -> tuple:
    """Names, sizes and mtimes of the saved files: the cache key (a new run changes it)."""
    folder = Path(data_dir) / "results"
    stamps = []
    for path in [*folder.glob("evaluation-*.json"), *folder.glob("runs/*.json")]:
        try:
            info = path.stat()
        except OSError:  # removed since the glob: it will not be listed either
            continue
        stamps.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(sorted(stamps))


def show_runs(data_dir: Path) -> None:
    """Every saved run in a table; pick two to see which queries regressed."""
    runs = _runs(str(data_dir), _stamp(data_dir))
    if not runs:
        return
    st.divider()
    st.subheader(f"Saved runs ({len(runs)})")
    st.dataframe(pd.DataFrame([_row(r) for r in runs]), hide_index=True, key="eval_runs_table")
    if len(runs) < 2:
        st.caption("Run another evaluation to compare two runs query by query.")
        return
    by_id = {r.run_id: r for r in runs}
    ids = list(by_id)
    label = {i: f"{i} · {by_id[i].dataset}" for i in ids}.get
    c1, c2, c3 = st.columns([2, 2, 1])
    base_id = c1.selectbox("Base run", ids, index=1, format_func=label, key="eval_run_base")
    new_id = c2.selectbox("New run", ids, index=0, format_func=label, key="eval_run_new")
    base, new = by_id[base_id], by_id[new_id]
    shared = [m for m in new.methods if m in base.methods]
    if not shared or base.k != new.k:
        st.info("These two runs share no method at the same k: nothing to compare.")
        return
    method = c3.selectbox("Method", shared, index=len(shared) - 1, key="eval_run_method")
    result = compare_runs(base, new, method)
    if not result.same_data:
        st.warning("The two runs are on different data (their dataset fingerprints differ).")
    if result.regressed:
        names = ", ".join(f"“{r.text[:40]}” ({r.delta:+.2f})" for r in result.regressed[:5])
        more = f" and {len(result.regressed) - 5} more" if len(result.regressed) > 5 else ""
        st.warning(f"{len(result.regressed)} queries regressed from the base run: {names}{more}.")
    else:
        st.success("No query regressed from the base run.")
    if result.test is not None:
        st.markdown(f"`{result.test.sentence()}` — {result.test.verdict}")
    show_diff(Side.of(base, method, f"base {method}"), Side.of(new, method, f"new {method}"),
              new.k, "eval_runs_query")
