"""Evaluate: recall@k, MRR, nDCG and MAP per retrieval method, on the sample queries or a BEIR set."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import streamlit as st

from ui.frame import frame

frame("Evaluate")

from lib.evaluation.api import (  # after frame(): page config comes first
    SWEEPS,
    evaluate_beir,
    evaluate_store,
    load_results,
    sample_queries,
    save_result,
    unindexed_documents,
)
from lib.evaluation.archive import datasets_dir, extract_beir_zip
from lib.evaluation.beir import available_splits, check_folder
from lib.evaluation.cache import cache_root
from lib.evaluation.metrics import GAINS
from lib.evaluation.report import EvaluationReport
from lib.evaluation.runner import EvalConfig
from lib.retrieval.fusion import FusionMode, FusionSettings, Normalization
from lib.retrieval.search import Method
from lib.samples import sample_files
from lib.types import ChunkSettings, RagLabError
from ui.abstention import show_abstention
from ui.evaluation_report import show_report
from ui.evaluation_runs import show_runs
from ui.resources import get_settings, store_or_stop

log = logging.getLogger(__name__)
SOURCES = ["📦 Sample queries on your index", "📁 BEIR folder on disk", "⬆️ Upload a BEIR zip"]

st.title("📊 Evaluate")
st.caption(
    "Which retrieval method finds the right documents on *your* data? Labelled queries are run "
    "through the same search the app uses; each document is scored by its best chunk."
)
settings = get_settings()
store = store_or_stop()


def read_config() -> tuple[EvalConfig, str | None, ChunkSettings | None]:
    """The run settings from the expander (fusion defaults are the app's)."""
    app, defaults = FusionSettings(), EvalConfig()
    with st.expander("⚙️ Settings", expanded=False):
        c1, c2, c3 = st.columns(3)
        methods = c1.multiselect(
            "Methods", [str(m) for m in Method], default=defaults.methods, key="eval_methods"
        )
        k = c2.number_input("k (cut-off)", 1, 100, defaults.k, key="eval_k")
        sweep = c3.selectbox(
            "Sweep",
            [*SWEEPS, None],
            format_func=lambda s: SWEEPS.get(s, "No sweep"),
            key="eval_sweep",
        )
        f1, f2, f3, f4, f5 = st.columns(5)
        modes, norms = list(FusionMode), list(Normalization)
        mode = f1.selectbox("Fusion", modes, index=modes.index(app.mode), key="eval_fusion")
        rrf_k = f2.number_input("RRF k", 0, 1000, app.rrf_k, key="eval_rrf_k")
        alpha = f3.slider("α (vector weight)", 0.0, 1.0, app.alpha, 0.05, key="eval_alpha")
        norm = f4.selectbox(
            "Normalisation", norms, index=norms.index(app.normalization), key="eval_norm"
        )
        depth = f5.number_input("Candidates", 1, 500, app.depth, key="eval_depth")
        g1, g2 = st.columns(2)
        whole = g1.checkbox("BEIR: index whole documents (no chunking)", key="eval_whole_docs")
        gain = g2.selectbox("nDCG gain (graded judgments)", GAINS, key="eval_gain",
                            help="2^grade − 1 (default) or the grade itself, as trec_eval")
    fusion = FusionSettings(
        mode=mode, rrf_k=int(rrf_k), alpha=float(alpha), normalization=norm, depth=int(depth)
    )
    chunking = None if whole else ChunkSettings(settings.chunk_size, settings.chunk_overlap)
    config = EvalConfig(tuple(methods or defaults.methods), int(k), fusion, gain=gain)
    return config, sweep, chunking


def run_with_progress(label: str, job) -> EvaluationReport | None:
    """Run an evaluation with a live progress bar; save it; return the report."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")
        started = time.perf_counter()
        try:
            report = job(lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text))
        except RagLabError as err:
            status.update(label=err.reason, state="error")
            return None
        path = save_result(report, settings.data_dir)
        status.update(
            label=f"{report.n_queries} queries evaluated in {time.perf_counter() - started:.1f} s "
            f"· saved to results/{path.name}",
            state="complete",
            expanded=False,
        )
    st.session_state.eval_dataset = st.session_state.eval_saved = report.dataset
    return report


def samples_source(config: EvalConfig, sweep: str | None) -> None:
    """The bundled labelled queries against the app's own index."""
    try:
        queries, qrels = sample_queries()
    except RagLabError as err:
        st.error(err.reason)
        return
    st.write(
        f"**{len(qrels)} labelled queries** about Orbit Bank; relevant documents are named by file."
    )
    if store.n_documents == 0:
        st.info(
            "The index is empty: load the sample documents first "
            "(or upload yours on the Documents page)."
        )
        if st.button("📦 Load sample documents", type="primary", key="eval_load_samples"):
            with st.spinner("Ingesting the sample documents…"):
                store.ingest(sample_files(), max_bytes=settings.max_file_bytes)
            st.rerun()
        st.page_link("pages/documents.py", label="Go to Documents", icon="📄")
        return
    if missing := unindexed_documents(qrels, {d.name for d in store.documents()}):
        st.warning(
            f"{len(missing)} labelled documents are not in your index (e.g. {missing[0]}): "
            "their queries will score low. Load the sample documents on the Documents page."
        )
    if st.button("▶️ Run evaluation", type="primary", key="eval_run"):
        run_with_progress(
            "Evaluating the sample queries…",
            lambda p: evaluate_store(
                store, queries, qrels, config, sweep_parameter=sweep, progress=p
            ),
        )


def beir_run(
    folder: Path, config: EvalConfig, sweep: str | None, chunking: ChunkSettings | None
) -> None:
    """Split choice and the run button for a BEIR folder."""
    splits = available_splits(folder)
    if not splits:
        st.error(f"{folder.name} has no qrels/*.tsv files")
        return
    split = st.selectbox(
        "Split", splits, index=splits.index("test") if "test" in splits else 0, key="eval_split"
    )
    try:
        check_folder(folder, split)
    except RagLabError as err:
        st.error(err.reason)
        return
    st.caption(
        "The corpus is embedded once and cached in the data dir: SciFact (5,183 abstracts) "
        "takes a few minutes the first time, seconds after that."
    )
    if st.button("▶️ Run evaluation", type="primary", key="eval_run"):
        run_with_progress(
            f"Evaluating {folder.name} ({split})…",
            lambda p: evaluate_beir(
                folder,
                split,
                store.embedder,
                config,
                chunking,
                cache_root(settings.data_dir),
                sweep_parameter=sweep,
                progress=p,
            ),
        )


def upload_source() -> Path | None:
    """An uploaded BEIR zip, validated and unpacked into the data dir (once per file)."""
    upload = st.file_uploader(
        "A zip of a BEIR folder (corpus.jsonl[.gz], queries.jsonl, qrels/)",
        type=["zip"],
        key="eval_upload",
    )
    if upload is None:
        return None
    marker = (upload.name, upload.size)
    if st.session_state.get("eval_unpacked", (None, None))[0] != marker:
        try:
            target = extract_beir_zip(
                upload.getvalue(), datasets_dir(settings.data_dir), upload.name
            )
        except RagLabError as err:
            st.error(err.reason)
            return None
        st.session_state.eval_unpacked = (marker, str(target))
    return Path(st.session_state.eval_unpacked[1])


config, sweep, chunking = read_config()
source = st.radio("Query set", SOURCES, key="eval_source", horizontal=True)
if source == SOURCES[0]:
    samples_source(config, sweep)
elif source == SOURCES[1]:
    folder_text = st.text_input(
        "BEIR folder", placeholder="/path/to/scifact", key="eval_folder"
    ).strip()
    if folder_text:
        beir_run(Path(folder_text).expanduser(), config, sweep, chunking)
else:
    unpacked = upload_source()
    if unpacked is not None:
        st.success(f"Unpacked into the data dir as `{unpacked.name}`.")
        beir_run(unpacked, config, sweep, chunking)

saved = load_results(settings.data_dir)
if saved:
    st.divider()
    names = list(saved)
    current = st.session_state.get("eval_dataset")
    choice = (
        st.selectbox(
            "Saved results",
            names,
            index=names.index(current) if current in names else 0,
            key="eval_saved",
        )
        if len(names) > 1
        else names[0]
    )
    show_report(saved[choice], settings.data_dir)
show_runs(settings.data_dir)
show_abstention(store, settings.data_dir)
