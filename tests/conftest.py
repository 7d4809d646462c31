"""Shared fixtures: an isolated data dir for every test, the real embedder, sample indexes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import lib  # noqa: F401  (offline/telemetry env before onnxruntime loads)
from tests.chroma_server import chroma_server  # noqa: F401  (session fixture: a real `chroma run`)

ROOT = Path(__file__).resolve().parent.parent
APP_PATH = str(ROOT / "streamlit_app.py")


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data dir, so no test sees another's index."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("RAGLAB_DATA_DIR", str(data_dir))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAGLAB_COMPATIBLE_BASE_URL", "RAGLAB_RERANKER_URL",
                "RAGLAB_CHROMA_HOST", "RAGLAB_CHROMA_TOKEN", "RAGLAB_CHROMA_COLLECTION"):
        monkeypatch.delenv(var, raising=False)
    return data_dir


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder, loaded once per test session."""
    from lib.config import load_settings
    from lib.retrieval.embeddings import get_embedder

    return get_embedder(load_settings(env={}))


@pytest.fixture(scope="session")
def sample_index_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """The sample documents ingested once per session into a template data dir."""
    from lib.samples import sample_files
    from lib.index.store import Store

    template = tmp_path_factory.mktemp("sample-index") / "data"
    store = Store(template, embedder)
    results = store.ingest(sample_files())
    assert all(r.status == "ingested" for r in results), results
    store.close() if hasattr(store, "close") else None
    del store
    return template


@pytest.fixture
def sample_data_dir(sample_index_template: Path, isolated_data_dir: Path) -> Path:
    """This test's data dir, pre-filled with the sample index (a copy, safe to change)."""
    shutil.copytree(sample_index_template, isolated_data_dir)
    return isolated_data_dir


@pytest.fixture
def sample_store(sample_data_dir: Path, embedder):
    """A Store over this test's copy of the sample index."""
    from lib.index.store import Store

    return Store(sample_data_dir, embedder)


def open_chat_page(session: str | None = None, timeout: float = 60):
    """A new browser session on the Chat page (`session`: the browser's id in the URL)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=timeout)
    if session is not None:
        at.query_params["session"] = session
    at.run()
    at.switch_page("pages/chat.py").run()
    assert not at.exception
    return at
