"""The Documents page with a real store: samples, uploads with bad files, delete, preview."""

import threading

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import load_settings
from tests.conftest import APP_PATH
from ui.ingest_job import current_job
from tests.pdf_factory import make_encrypted_pdf, make_pdf
from tests.test_store import doc

PAGE = "pages/documents.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=120).run()
    return at.switch_page(PAGE).run()


def finish_job(at: AppTest, timeout: float = 120) -> AppTest:
    """Wait for the background ingest job, then rerun the page (what the auto-refresh does)."""
    job = current_job(load_settings().data_dir)
    assert job is not None, "the page started an ingest job"
    job.wait(timeout)
    return at.run()


def test_empty_index_offers_sample_documents():
    at = open_page()
    assert not at.exception
    button = at.button(key="docs_load_samples")
    button.click().run()
    assert not at.exception
    finish_job(at)
    assert not at.exception
    metrics = {m.label: int(m.value) for m in at.sidebar.metric}
    assert metrics["Documents"] >= 6 and metrics["Chunks"] > metrics["Documents"]
    assert not [b for b in at.button if b.key == "docs_load_samples"]


def test_batch_with_broken_files_ingests_the_good_ones(isolated_data_dir):
    at = open_page()
    good_pdf = make_pdf(["Orbit Metal card OB-7731 has a monthly fee.", "Second page about ATM fees."])
    files = [
        ("good.pdf", good_pdf, "application/pdf"),
        ("notes.md", b"# Title\n\nSome notes about transfers.\n", "text/markdown"),
        ("locked.pdf", make_encrypted_pdf("secret text", "pw"), "application/pdf"),
        ("broken.pdf", b"%PDF-1.7 garbage", "application/pdf"),
        ("empty.txt", b"", "text/plain"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "image/png"),
    ]
    at.file_uploader(key="docs_uploader").set_value(files)
    at.button[[b.label for b in at.button].index("Ingest")].click().run()
    assert not at.exception
    finish_job(at)
    assert not at.exception
    table = at.dataframe[0].value
    outcome = dict(zip(table["file"], table["outcome"]))
    assert outcome["good.pdf"].endswith("ingested") and outcome["notes.md"].endswith("ingested")
    for bad in ("locked.pdf", "broken.pdf", "empty.txt", "image.png"):
        assert outcome[bad].endswith("refused"), bad
    reasons = dict(zip(table["file"], table["reason"]))
    assert all(reasons[bad] and "\n" not in reasons[bad] for bad in ("locked.pdf", "broken.pdf"))
    assert {m.label: int(m.value) for m in at.sidebar.metric}["Documents"] == 2


def test_delete_and_preview_on_the_sample_index(sample_store):
    at = open_page()
    assert not at.exception
    docs_before = {m.label: int(m.value) for m in at.sidebar.metric}["Documents"]
    assert at.selectbox(key="docs_preview").value
    assert at.expander, "the preview shows the chunks of the chosen document"
    first = sample_store.documents()[0]
    at.multiselect(key="docs_delete").set_value([first.doc_id])
    at.button[[b.label for b in at.button].index("🗑️ Delete selected")].click().run()
    assert not at.exception
    assert {m.label: int(m.value) for m in at.sidebar.metric}["Documents"] == docs_before - 1
    assert first.name not in at.multiselect(key="docs_delete").options


@pytest.mark.slow
def test_an_index_built_by_another_embedder_is_re_indexed_from_the_page(sample_data_dir, monkeypatch):
    monkeypatch.setenv("RAGLAB_EMBEDDER", "minilm:int8-shipped")
    at = open_page()
    assert not at.exception
    assert any("embedder" in e.value for e in at.error), "the mismatch is explained in one line"
    at.button(key="docs_rebuild").click().run()
    assert not at.exception and not at.error
    assert {m.label: int(m.value) for m in at.sidebar.metric}["Documents"] >= 6, "no document lost"
    assert any("int8-shipped" in c.value for c in at.sidebar.caption)


def test_an_unreadable_index_is_set_aside_not_deleted(sample_data_dir):
    (sample_data_dir / "registry.json").write_text("{not json", encoding="utf-8")
    at = open_page()
    assert not at.exception
    assert any("unreadable" in e.value for e in at.error)
    at.button(key="docs_set_aside").click().run()
    assert not at.exception and not at.error
    assert at.button(key="docs_load_samples"), "the index starts empty"
    (kept,) = sample_data_dir.glob("set-aside-*")
    assert (kept / "registry.json").read_text(encoding="utf-8") == "{not json"
    assert (kept / "chroma").is_dir() and any(kept.joinpath("docs").iterdir())


def test_the_uploader_shows_and_enforces_the_apps_file_limit(monkeypatch):
    monkeypatch.setenv("RAGLAB_MAX_FILE_MB", "7")
    at = open_page()
    assert not at.exception
    uploader = at.file_uploader(key="docs_uploader")
    assert uploader.proto.max_upload_size_mb == 7  # Streamlit's own "… per file" text
    assert "up to 7 MB per file" in uploader.label


def test_the_index_can_be_checked_and_repaired_on_demand(sample_data_dir):
    from ui.resources import get_store

    at = open_page()
    at.button(key="docs_check").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Consistent: Chroma, BM25, the chunk table and the registry agree")
    store = get_store()  # the page's own cached Store
    lost = store.chunks()[0].id
    store._chroma.delete([lost])  # a vector lost behind the app's back
    at.button(key="docs_check").click().run()
    assert not at.exception
    assert at.success[0].value == "Found and repaired: Chroma lacks 1 chunks of registered documents."
    assert store.check_consistency() == [] and lost in store._chroma.ids()


class HeldEmbedder:
    """The real embedder, held after its first progress report until `go` is set."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.reached, self.go = threading.Event(), threading.Event()

    def embed(self, texts, progress=None):
        def held(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            self.reached.set()
            self.go.wait(60)

        return self.inner.embed(texts, progress=held)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_ingest_runs_in_the_background_shows_progress_and_can_be_cancelled(sample_data_dir):
    from ui.resources import get_store

    at = open_page()
    store = get_store()
    before = (sorted(r.doc_id for r in store.documents()), store.n_chunks)
    held = HeldEmbedder(store.embedder)
    store.embedder = held
    try:
        at.file_uploader(key="docs_uploader").set_value([
            ("long.txt", doc("card", 60), "text/plain"), ("notes.md", doc("fx"), "text/markdown")])
        at.button[[b.label for b in at.button].index("Ingest")].click().run()
        assert not at.exception
        assert held.reached.wait(60), "the job started embedding"
        at.run()  # what the panel's auto-refresh shows meanwhile
        assert not at.exception
        progress = at.get("progress")[-1].proto.text
        assert "long.txt and 1 more (file 1–2 of 2)" in progress and "chunks embedded" in progress
        assert "estimating…" in progress  # one embedding batch is not enough for an ETA
        at.button(key="docs_ingest_cancel").click().run()
        assert not at.exception
        assert any("next safe point" in i.value for i in at.info)
    finally:
        held.go.set()
    finish_job(at)
    at.switch_page("pages/search.py").run()  # the results survive a page switch
    at.switch_page(PAGE).run()
    assert not at.exception
    summary = [m.value for m in at.markdown if m.value.startswith("**Last upload**")]
    assert summary and "Cancelled: nothing stayed in the index; long.txt, notes.md not added" in summary[0]
    outcomes = set(at.dataframe[0].value["outcome"])
    assert outcomes == {"⏹ cancelled"}
    assert (sorted(r.doc_id for r in store.documents()), store.n_chunks) == before
    assert store.check_consistency() == []


def test_a_long_document_list_is_paged_and_filtered(sample_data_dir, monkeypatch):
    import ui.document_list

    monkeypatch.setattr(ui.document_list, "PAGE_SIZE", 3)  # 8 sample documents: 3 pages
    at = open_page()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 3 and list(table["document"]) == sorted(table["document"], key=str.casefold)
    assert "8 of 8 documents match; showing 1–3." in [c.value for c in at.caption]
    at.number_input(key="docs_list_page").set_value(3).run()
    assert list(at.dataframe[0].value["document"]) == ["security_fraud_guide.txt", "support_faq.md"]
    at.text_input(key="docs_filter").input("GUIDE").run()
    assert not at.exception
    assert "3 of 8 documents match; showing 1–3." in [c.value for c in at.caption]
    shown = list(at.dataframe[0].value["document"])
    assert shown == ["business_account_guide.pdf", "compliance_style_guide.md", "security_fraud_guide.txt"]
    assert set(at.multiselect(key="docs_delete").options) == set(shown)  # delete acts on the page
