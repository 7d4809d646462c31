"""Process-wide shared objects (one per server process, shared by every session)."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

import lib  # noqa: F401  (sets offline/telemetry env before onnxruntime is imported)
from lib.config import Settings, load_settings

log = logging.getLogger(__name__)


def get_settings() -> Settings:
    """Settings are re-read on each run: cheap, and env changes (tests) take effect."""
    return load_settings()


@st.cache_resource(show_spinner="Loading the index…")
def _open_store(data_dir: str, embedder_id: str, chroma: str):  # -> lib.index.store.Store
    from lib.index.store import Store
    from lib.retrieval.embeddings import get_embedder

    settings = load_settings()
    return Store(Path(data_dir), get_embedder(settings), chroma_server=settings.chroma_server)


def get_store():
    """The persistent index for the current data dir and embedder (raises RagLabError)."""
    settings = get_settings()
    server = settings.chroma_server  # cache key: host:port + collection (never the token)
    key = f"{server.label}/{server.collection}" if server else ""
    return _open_store(str(settings.data_dir), settings.embedder, key)


def store_or_stop():
    """The index, or its one-line reason shown and the page stopped (pages that need it)."""
    from lib.types import RagLabError

    try:
        return get_store()
    except RagLabError as err:
        st.error(err.reason)
        st.stop()


def rebuild_store(progress) -> None:
    """Re-embed the index with the configured embedder, then reopen it (Documents page)."""
    from lib.index.store import Store
    from lib.retrieval.embeddings import get_embedder

    settings = get_settings()
    Store.rebuild(settings.data_dir, get_embedder(settings), progress=progress,
                  chroma_server=settings.chroma_server).close()
    _open_store.clear()


def set_aside_store() -> str:
    """Move an unopenable index aside (nothing deleted) so the app starts empty; says where."""
    from lib.index.store import set_aside_index

    _open_store.clear()
    folder = set_aside_index(get_settings().data_dir)
    return str(folder) if folder else ""
