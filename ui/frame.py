"""The shared page frame: page config, sidebar navigation, model switch, index status."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from lib.types import RagLabError
from ui.browser_session import link_params
from ui.format import fusion_label
from ui.resources import get_settings, get_store

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent

# (file, label, icon) — the one place page labels and order are defined.
# Emoji icons: :material: icons make the browser fetch a font from a CDN (offline: fails).
PAGES: list[tuple[str, str, str]] = [
    ("streamlit_app.py", "Home", "🏠"),
    ("pages/documents.py", "Documents", "📄"),
    ("pages/search.py", "Search lab", "🔎"),
    ("pages/chat.py", "Chat", "💬"),
    ("pages/finetune.py", "Fine-tune", "🛠️"),
    ("pages/compare.py", "Compare", "⚖️"),
    ("pages/evaluate.py", "Evaluate", "📊"),
    ("pages/decide.py", "Decision guide", "🧭"),
]


def available_pages() -> list[tuple[str, str, str]]:
    """Pages whose file exists (later issues add pages; a missing one is not linked)."""
    return [p for p in PAGES if (ROOT / p[0]).is_file()]


def page_icon(title: str) -> str:
    return next((icon for _, label, icon in PAGES if label == title), "🧪")


# Settings a user expects to find again after visiting another page. Streamlit drops a
# widget's value at the end of any run that does not draw it; writing the value back on
# every run (documented "interrupt the widget clean-up") keeps it. Buttons cannot be
# written, and selections whose options change (documents, saved runs, models) are left out.
KEPT_WIDGETS = (
    "search_query", "search_mode", "search_rrf_k", "search_alpha", "search_normalization",
    "search_depth", "search_top_k", "search_rerank",
    "eval_source", "eval_folder", "eval_split", "eval_methods", "eval_k", "eval_sweep",
    "eval_fusion", "eval_rrf_k", "eval_alpha", "eval_norm", "eval_depth", "eval_whole_docs",
    "eval_gain",
    "cmp_question", "cmp_batch_set", "cmp_batch_n",
    "docs_chunk_size", "docs_chunk_overlap",
    "ft_source", "ft_epochs", "ft_val_share", "ft_name", "ft_steps", "ft_lr", "ft_seed",
    "ft_oa_epochs", "ft_oa_suffix",
    "decide_today", "decide_tuned", "decide_requests", "decide_prompt", "decide_removed",
    "decide_horizon", "decide_to_label", "decide_minutes", "decide_rate",
)


def keep_widget_state() -> None:
    """Write KEPT_WIDGETS' values back so a page switch does not reset them."""
    for key in KEPT_WIDGETS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def frame(title: str) -> None:
    """Call first on every page: page config, then the sidebar shared by all pages."""
    st.set_page_config(page_title=f"{title} · RAG Lab", page_icon=page_icon(title), layout="wide")
    keep_widget_state()
    params = link_params()  # every page keeps this browser's id in the URL
    with st.sidebar:
        st.markdown("### 🧪 RAG Lab")
        for path, label, icon in available_pages():
            st.page_link(path, label=label, icon=icon, query_params=params)
        st.divider()
        _model_switch()
        _index_status()
        _tuned_status()


def _model_switch() -> None:
    """The app-wide model choice (added by the chat issue); absent until then."""
    try:
        from ui.model_switch import render_model_switch
    except ImportError:
        return
    render_model_switch()


def _tuned_status() -> None:
    """What was saved on Evaluate, so Search lab and Chat users see what they run with."""
    from lib.tuning import load_tuned  # a JSON read per run; nothing when never saved

    tuned = load_tuned(get_settings().data_dir)
    parts = [f"search: {fusion_label(tuned.fusion)}"] if tuned.fusion else []
    if tuned.min_confidence is not None:
        parts.append(f"Chat abstains below {tuned.min_confidence:.2f}")
    if parts:
        st.caption("Chosen on Evaluate — " + " · ".join(parts))


def _index_status() -> None:
    st.caption("Index")
    try:
        store = get_store()
    except RagLabError as err:
        st.error(err.reason)
        st.page_link("pages/documents.py", label="Fix it on the Documents page", icon="🛠️")
        return
    docs, chunks = store.n_documents, store.n_chunks
    c1, c2 = st.columns(2)
    c1.metric("Documents", docs)
    c2.metric("Chunks", chunks)
    st.caption(f"Embedder: `{store.embedder.name}`")
    st.caption(f"Vectors: {store.vector_backend}")
