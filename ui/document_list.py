"""The Documents page's list of indexed documents: a filter, pages of PAGE_SIZE rows, delete."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from lib.types import DocumentRecord

PAGE_SIZE = 50  # rows per page: thousands of documents must not make one huge table


def filtered(records: list[DocumentRecord], text: str) -> list[DocumentRecord]:
    """Records whose name contains `text` (case-insensitive), in name order."""
    needle = text.strip().casefold()
    return sorted((r for r in records if needle in r.name.casefold()), key=lambda r: r.name.casefold())


def _table(records: list[DocumentRecord]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "document": r.name,
            "type": r.kind.upper(),
            "pages / sections": r.pages,
            "chunks": r.chunks,
            "size (KB)": round(r.size / 1024, 1),
            "ingested": r.ingested_at[:16].replace("T", " "),
        }
        for r in records
    ])


def document_list(store, busy: bool) -> list[DocumentRecord]:
    """Render the filter, one page of the list and the delete form; returns the rows shown.

    `busy`: an upload is being indexed, so deleting would wait for it (the button is off).
    """
    records = store.documents()
    if not records:
        return []
    shown = records
    if len(records) > PAGE_SIZE:
        c1, c2 = st.columns([3, 1])
        text = c1.text_input("Filter by name", key="docs_filter", placeholder="part of a file name")
        shown = filtered(records, text)
        pages = max(math.ceil(len(shown) / PAGE_SIZE), 1)
        page = int(c2.number_input(f"Page (of {pages})", 1, pages, 1, key="docs_list_page"))
        page = min(page, pages)
        start = (page - 1) * PAGE_SIZE
        st.caption(f"{len(shown):,} of {len(records):,} documents match; "
                   f"showing {start + 1 if shown else 0:,}–{min(start + PAGE_SIZE, len(shown)):,}.")
        shown = shown[start:start + PAGE_SIZE]
    if shown:
        st.dataframe(_table(shown), hide_index=True, width="stretch")
    names = {r.doc_id: r.name for r in shown}
    with st.form("docs_delete_form"):
        doomed = st.multiselect("Delete documents", list(names), format_func=names.get, key="docs_delete")
        pressed = st.form_submit_button("🗑️ Delete selected", disabled=busy)
        if busy:
            st.caption("Deleting waits until the upload being indexed is done.")
        if pressed and doomed:
            for doc_id in doomed:
                store.delete(doc_id)
            st.toast(f"Deleted {len(doomed)} document(s)")
            st.rerun()
    return shown
