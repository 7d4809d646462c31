"""Store maintenance: re-index with new chunk settings, consistency checks, crash repair.

A mixin of lib.index.store.Store (kept apart so each file stays small). The registry is the
truth: chunk ids come from `lib.types.chunk_id`, so it alone says which ids must exist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from lib.index.catalog import save_registry
from lib.index.server_catalog import new_epoch
from lib.ingest.chunking import split_document
from lib.retrieval.keyword import KeywordIndex
from lib.types import (
    Chunk,
    ChunkSettings,
    DocumentRecord,
    ParsedDocument,
    Progress,
    RagLabError,
    doc_id_of,
)

log = logging.getLogger(__name__)



class MaintenanceMixin:
    """reindex / check_consistency / repair, on top of Store's state and private helpers."""

    def reindex(self, settings: ChunkSettings, progress: Progress | None = None) -> None:
        """Re-chunk and re-embed every document from its stored pages, with new settings.

        Everything is embedded before anything changes, so a failure (e.g. a provider
        error) leaves the index as it was.
        """
        report = progress or (lambda _f, _l: None)
        with self._write_lock:
            self._sync(force=True)  # server: every instance's documents
            items = self._load_all_parsed()
            report(0.0, f"Chunking {len(items)} documents")
            chunked = [(doc, split_document(doc, settings), rec) for doc, rec in items]
            vectors = self._embed([c for _, cs, _ in chunked for c in cs], report)
            report(0.97, "Saving the index")
            with self._state_lock:
                self._reg.pending_reindex = settings
            # A crash from here resumes on open (on a server: after the grace period).
            if self._shared is None:
                save_registry(self._registry_path, self._reg)
            else:
                self._publish_settings()
            self._chroma.reset()
            with self._state_lock:
                self._chunks, self._keyword = {}, KeywordIndex()
                self._reg.chunk_settings = settings
            if chunked:
                self._commit(chunked, vectors)
            with self._state_lock:
                self._reg.pending_reindex = None
                self._reg.epoch = new_epoch()
            if self._shared is not None:  # the new epoch: other instances refetch every chunk
                self._publish_settings("reindex")
            self._persist()
            report(1.0, "Done")

    def _load_all_parsed(self) -> list[tuple[ParsedDocument, DocumentRecord]]:
        """Every registered document's stored pages (refuses if any is missing)."""
        items, missing = [], []
        for record in self.documents():
            doc = self._load_pages(record.doc_id)
            (items.append((doc, record)) if doc else missing.append(record.name))
        if missing:
            raise RagLabError(
                f"Cannot re-index: the stored pages of {', '.join(missing[:3])} are missing; "
                "delete and upload them again."
            )
        return items

    def _embed(self, chunks: Sequence[Chunk], report: Progress) -> np.ndarray:
        """Embed chunk texts, reporting 0..0.95 of the progress bar."""
        def on_batch(done: int, total: int) -> None:
            report(0.95 * done / max(total, 1), f"Embedding {done}/{total} chunks")

        return self.embedder.embed([c.text for c in chunks], progress=on_batch)

    # ------------------------------------------------------------------ consistency

    def check_consistency(self) -> list[str]:
        """Problems found ([] when Chroma, chunk table, keyword index and registry agree)."""
        with self._write_lock:
            if self._shared is not None:
                return self._check_shared()
            expected = self._reg.expected_ids()
            problems = []
            sources = (("Chroma", self._chroma.ids()), ("the chunk table", set(self._chunks)),
                       ("the keyword index", self._keyword.ids()))
            for label, ids in sources:
                if extra := len(ids - expected):
                    problems.append(f"{label} has {extra} chunks no registered document owns")
                if missing := len(expected - ids):
                    problems.append(f"{label} lacks {missing} chunks of registered documents")
            stored = {p.stem for p in (self.data_dir / "docs").glob("*.json")}
            if lost := len(set(self._reg.documents) - stored):
                problems.append(f"{lost} documents have no stored pages in docs/")
            if stray := len(stored - set(self._reg.documents)):
                problems.append(f"docs/ holds pages of {stray} unregistered documents")
            if self._reg.pending_reindex is not None:
                problems.append("a re-index was interrupted")
            return problems

    def repair(self) -> None:
        """Make every index agree with the registry: drop leftovers, re-embed incomplete docs."""
        with self._write_lock:
            if self._shared is not None:
                return self._repair_shared()
            expected = self._reg.expected_ids()
            present = self._chroma.ids()
            complete = present & set(self._chunks) & self._keyword.ids()
            everything = present | set(self._chunks) | self._keyword.ids()
            self._remove_chunks(list(everything - expected))
            broken = sorted({doc_id_of(i) for i in expected - complete})
            for doc_id in broken:
                self._repair_document(doc_id)
            stored = {p.stem: p for p in (self.data_dir / "docs").glob("*.json")}
            for stem in set(stored) - set(self._reg.documents):
                stored[stem].unlink(missing_ok=True)
            self._persist()

    def _repair_document(self, doc_id: str) -> None:
        """Rebuild one document; a failure is logged and retried on the next open."""
        try:
            self._rebuild_document(doc_id)
        except RagLabError as exc:  # e.g. a provider that is down
            log.warning("could not repair %s: %s", doc_id, exc.reason)

    def _rebuild_document(self, doc_id: str) -> None:
        """Re-chunk and re-embed one document from its stored pages, or drop it if they are gone."""
        # On a server the row may not be in the local copy yet (its chunks are incomplete).
        records = self._reg.documents if self._shared is None else self._rows
        record = records[doc_id]
        self._remove_chunks(self._ids_of(doc_id, record.chunks))
        doc = self._load_pages(doc_id)
        if doc is None:
            log.warning("dropping %r: its stored pages are missing", record.name)
            with self._state_lock:
                self._reg.documents.pop(doc_id, None)
            if self._shared is not None:
                self._shared.remove([doc_id])
                self._own_change("delete")
            return
        chunks = split_document(doc, self.chunk_settings)
        self._commit([(doc, chunks, record)], self.embedder.embed([c.text for c in chunks]))
