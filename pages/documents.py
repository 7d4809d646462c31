"""Documents: upload, ingest, list, delete, chunk settings with a live preview, re-index."""

from __future__ import annotations

import logging

import streamlit as st

from ui.frame import frame

frame("Documents")

from lib.ingest.chunking import split_document  # noqa: E402  (after frame: page config first)
from lib.samples import sample_files  # noqa: E402
from lib.types import ChunkSettings, EmbedderMismatchError, RagLabError  # noqa: E402
from ui.document_list import document_list  # noqa: E402
from ui.format import plural  # noqa: E402
from ui.ingest_job import current_job, ingest_panel, start_upload  # noqa: E402
from ui.resources import get_settings, get_store, rebuild_store, set_aside_store  # noqa: E402

log = logging.getLogger(__name__)

st.title("📄 Documents")
st.caption("PDF, TXT and Markdown are parsed, chunked, embedded and indexed in Chroma (vectors) and BM25 (keywords).")


def recover(err: RagLabError) -> None:
    """The index does not open: say why and offer the fix (re-embed, or set it aside)."""
    st.error(err.reason)
    if isinstance(err, EmbedderMismatchError):
        if st.button("🔁 Re-index every document with the current embedder", type="primary",
                     key="docs_rebuild"):
            with st.status("Re-embedding every document…", expanded=True) as status:
                bar = st.progress(0.0)
                try:
                    rebuild_store(lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
                except RagLabError as exc:
                    status.update(label=exc.reason, state="error")
                    st.stop()
                status.update(label="Re-indexed", state="complete")
            st.rerun()
    elif st.button("📦 Set the index aside and start empty", key="docs_set_aside",
                   help="Moves the index files into a set-aside folder in the data dir; nothing is deleted."):
        folder = set_aside_store()
        st.session_state.docs_set_aside_folder = folder
        st.rerun()
    st.stop()


try:
    store = get_store()
except RagLabError as err:
    recover(err)
if folder := st.session_state.pop("docs_set_aside_folder", ""):
    st.info(f"The old index was moved to `{folder}`; the index is now empty.")


# --- Load samples / upload (a background job: the page stays usable) ------------------
data_dir = get_settings().data_dir
job = current_job(data_dir)
busy = job is not None and job.running
if store.n_documents == 0 and not busy:
    st.info("The index is empty. Start with the sample documents of **Orbit Bank**, a fictional fintech.")
    if st.button("📦 Load sample documents", type="primary", key="docs_load_samples"):
        start_upload(store, sample_files(), "the sample documents")

# The uploader shows and enforces the app's limit; the server's own cap (Makefile: the
# same value) still wins if it was started lower.
upload_mb = min(get_settings().upload_limit_mb, int(st.get_option("server.maxUploadSize")))
with st.form("docs_upload_form", clear_on_submit=True):
    uploads = st.file_uploader(
        f"Upload PDF, TXT or Markdown files (many at once; the index takes up to "
        f"{min(get_settings().max_file_mb, upload_mb):g} MB per file)",
        accept_multiple_files=True,
        key="docs_uploader",
        max_upload_size=upload_mb,
    )
    submitted = st.form_submit_button("Ingest", type="primary")
if submitted and uploads:
    start_upload(store, [(u.name, u.getvalue()) for u in uploads], plural(len(uploads), "file"))
elif submitted:
    st.warning("Choose one or more files first.")

ingest_panel(data_dir, busy)

# --- The document list ------------------------------------------------------
st.subheader(f"Indexed documents ({store.n_documents})")
records = document_list(store, busy)
names = {r.doc_id: r.name for r in records}
if st.button("🩺 Check the index", key="docs_check", disabled=busy,
             help="Chroma, BM25, the chunk table and the registry must agree (also checked on every open)."):
    if found := store.check_consistency():
        store.repair()  # drops leftovers, re-embeds incomplete documents from their stored pages
        left = store.check_consistency()
        (st.error if left else st.success)(
            f"Still inconsistent after a repair ({'; '.join(left)}): see the app log." if left
            else f"Found and repaired: {'; '.join(found)}.")
    else:
        st.success(f"Consistent: Chroma, BM25, the chunk table and the registry agree "
                   f"({store.n_documents} documents, {store.n_chunks} chunks).")

# --- Chunk settings, preview, re-index -------------------------------------
st.subheader("Chunking")
current = store.chunk_settings
c1, c2 = st.columns(2)
size = c1.number_input("Chunk size (tokens)", 20, 256, current.size, step=8, key="docs_chunk_size",
                       help="WordPiece tokens of the embedder; MiniLM reads at most 256.")
overlap = c2.number_input("Overlap (tokens)", 0, 120, min(current.overlap, 120), step=4, key="docs_chunk_overlap")
try:
    chosen = ChunkSettings(size=int(size), overlap=int(overlap))
except ValueError as err:
    st.warning(str(err))
    chosen = None

if records and chosen:
    doc_id = st.selectbox("Preview how a document splits", list(names), format_func=names.get, key="docs_preview")
    parsed = store.parsed_document(doc_id)
    chunks = split_document(parsed, chosen) if parsed else []
    st.caption(f"{len(chunks)} chunks with size {chosen.size} and overlap {chosen.overlap} "
               f"(index now: {current.size}/{current.overlap}).")
    for chunk in chunks[:8]:
        where = f"page {chunk.page}" if chunk.page else (chunk.section or "text")
        with st.expander(f"#{chunk.id.rsplit('-', 1)[-1]} · {where} · {len(chunk.text)} chars"):
            st.text(chunk.text)
    if len(chunks) > 8:
        st.caption(f"… and {len(chunks) - 8} more.")
    if chosen != current and st.button("🔁 Re-index all with these settings", key="docs_reindex",
                                       disabled=busy):
        with st.status("Re-indexing every document…", expanded=True) as status:
            bar = st.progress(0.0)
            store.reindex(chosen, progress=lambda f, t: bar.progress(min(f, 1.0), text=t))
            status.update(label="Re-indexed", state="complete")
        st.rerun()
