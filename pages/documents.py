"""Documents: upload, ingest, list, delete, chunk settings with a live preview, re-index."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from ui.frame import frame

frame("Documents")

from lib.ingest.chunking import split_document  # noqa: E402  (after frame: page config first)
from lib.samples import sample_files  # noqa: E402
from lib.types import ChunkSettings, EmbedderMismatchError, IngestResult, RagLabError  # noqa: E402
from ui.resources import get_settings, get_store, rebuild_store, set_aside_store  # noqa: E402

log = logging.getLogger(__name__)
STATUS_ICON = {"ingested": "✅ ingested", "duplicate": "♻️ duplicate", "refused": "⛔ refused"}

st.title("📄 Documents")
st.caption("PDF, TXT and Markdown are parsed, chunked, embedded and indexed in Chroma (vectors) and BM25 (keywords).")



def recover(err: RagLabError) -> None:
    """The index does not open: say why and offer the fix (re-embed, or set it aside)."""
    st.error(err.reason)
    if isinstance(err, EmbedderMismatchError):
        embedder = get_settings().embedder
        if st.button(f"🔁 Re-index every document with '{embedder}'", type="primary", key="docs_rebuild"):
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


def run_ingest(files: list[tuple[str, bytes]], label: str) -> None:
    """Ingest with a live progress bar; keep the per-file results for the table."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def progress(fraction: float, text: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=text)

        try:
            settings = get_settings()
            results = store.ingest(files, progress=progress, max_bytes=settings.max_file_bytes,
                                   max_chunks=settings.max_chunks_per_file)
        except RagLabError as err:
            status.update(label=err.reason, state="error")
            return
        done = sum(r.status == "ingested" for r in results)
        state = "complete" if done or not results else "error"
        status.update(label=f"{done} of {len(results)} files ingested", state=state, expanded=False)
    st.session_state.docs_last_results = results


def results_table(results: list[IngestResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "file": r.name,
                "outcome": STATUS_ICON[r.status],
                "reason": r.reason,
                # text, so a refused row shows a dash rather than "None"
                "pages / sections": str(r.pages) if r.pages else "–",
                "chunks": str(r.chunks) if r.chunks else "–",
                "seconds": f"{r.seconds:.2f}" if r.status == "ingested" else "–",
            }
            for r in results
        ]
    )


# --- Load samples / upload -------------------------------------------------
if store.n_documents == 0:
    st.info("The index is empty. Start with the sample documents of **Orbit Bank**, a fictional fintech.")
    if st.button("📦 Load sample documents", type="primary", key="docs_load_samples"):
        run_ingest(sample_files(), "Loading the sample documents…")
        st.rerun()

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
    run_ingest([(u.name, u.getvalue()) for u in uploads], f"Ingesting {len(uploads)} files…")
    st.rerun()  # redraw the sidebar's counts; the results table is kept in session state
elif submitted:
    st.warning("Choose one or more files first.")

if results := st.session_state.get("docs_last_results"):
    counts = {k: sum(r.status == k for r in results) for k in STATUS_ICON}
    st.markdown(
        f"**Last upload:** {counts['ingested']} ingested · {counts['duplicate']} duplicate · "
        f"{counts['refused']} refused"
    )
    st.dataframe(results_table(results), hide_index=True, width="stretch")
    refused = [r.reason for r in results if r.status == "refused"]
    if refused:
        st.warning("\n".join(f"- {reason}" for reason in refused))

# --- The document list ------------------------------------------------------
st.subheader(f"Indexed documents ({store.n_documents})")
records = store.documents()
if records:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "document": r.name,
                    "type": r.kind.upper(),
                    "pages / sections": r.pages,
                    "chunks": r.chunks,
                    "size (KB)": round(r.size / 1024, 1),
                    "ingested": r.ingested_at[:16].replace("T", " "),
                }
                for r in records
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    names = {r.doc_id: r.name for r in records}
    with st.form("docs_delete_form"):
        doomed = st.multiselect("Delete documents", list(names), format_func=names.get, key="docs_delete")
        if st.form_submit_button("🗑️ Delete selected") and doomed:
            for doc_id in doomed:
                store.delete(doc_id)
            st.toast(f"Deleted {len(doomed)} document(s)")
            st.rerun()
if st.button("🩺 Check the index", key="docs_check",
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
    if chosen != current and st.button("🔁 Re-index all with these settings", key="docs_reindex"):
        with st.status("Re-indexing every document…", expanded=True) as status:
            bar = st.progress(0.0)
            store.reindex(chosen, progress=lambda f, t: bar.progress(min(f, 1.0), text=t))
            status.update(label="Re-indexed", state="complete")
        st.rerun()
