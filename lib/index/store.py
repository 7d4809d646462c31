"""The persistent index: Chroma vectors + BM25 keywords + chunk table + registry, per data dir.

Embedded mode (default): the registry is the source of truth. Writes land in an order that
makes any crash leave only *extra* data (vectors/chunks no registered document owns) or an
interrupted re-index flag; opening a Store repairs both. File layout: lib/index/catalog.py;
the ingest pipeline: lib/ingest/pipeline.py; reindex/consistency/repair: lib/index/maintenance.py.
Use one Store per data dir per process (the app caches it).

Server mode (`chroma_server`): several processes (app instances, any data dirs naming the
same collection via RAGLAB_CHROMA_COLLECTION) share one index, and the Chroma server is the
source of truth (lib/index/server_catalog.py): chunk text and place are in the vectors'
metadata; each complete document has a row (its record + parsed pages) in `<name>-docs`;
`<name>-log` gets one row per change (compacted: lib/index/server_catalog.py), and the number
of changes is the version stamp. Each Store keeps
a local copy (registry, chunk table, BM25) under <data>/server-cache/<name>/, which is only
a cache. Reads check the stamp at most once a second (SYNC_INTERVAL_S, one `count()`); when
it moved, the copy is diffed against the rows and only new or changed documents' chunks are
fetched (lib/index/shared.py); a new epoch (re-index, clear) makes it refetch everything.
A writer marks its documents "pending" (with the time), writes their chunks (upserts: ids
derive from the content hash, so two instances writing the same file write the same
chunks), then the document's row, then drops the mark: a document counts only once its
row exists, so nobody sees half of it. A delete drops the row first, then the chunks.
Repair removes chunks no row owns unless their document has a fresh pending mark, i.e.
another instance is writing it (ORPHAN_GRACE_S, 10 minutes; a crashed writer's marks
expire); a re-index marked on the server is resumed only once it is that old.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lib.config import ChromaServer
from lib.index.catalog import (
    ChunkTableFile,
    embedder_mismatch,
    load_parsed,
    load_registry,
    read_index_info,
    save_parsed,
    save_registry,
)
from lib.index.chroma import ChromaIndex
from lib.index.maintenance import MaintenanceMixin
from lib.index.server_catalog import new_epoch
from lib.index.shared import SharedMixin
from lib.ingest.chunking import doc_id_for
from lib.ingest.documents import DEFAULT_MAX_BYTES
from lib.ingest.pipeline import DEFAULT_MAX_CHUNKS, ingest_files
from lib.io import fsync_files
from lib.retrieval.embeddings import Embedder
from lib.retrieval.keyword import KeywordIndex
from lib.retrieval.keyword_file import KeywordFile
from lib.types import (
    Chunk,
    ChunkSettings,
    DocumentRecord,
    IndexMismatchError,
    IngestResult,
    ParsedDocument,
    Progress,
    chunk_id,
    chunk_id_prefix,
)

log = logging.getLogger(__name__)

__all__ = ["Store", "read_index_info", "set_aside_index"]
INDEX_PARTS = ("registry.json", "chroma", "index", "docs", "server-cache")  # what Store owns in a data dir


def set_aside_index(data_dir: Path) -> Path | None:
    """Move an unopenable index into data_dir/set-aside-<time>/ (nothing is deleted).

    Returns the folder, or None when there was no index. Feedback, models and results in
    the same data dir stay where they are.
    """
    data_dir = Path(data_dir)
    parts = [data_dir / name for name in INDEX_PARTS if (data_dir / name).exists()]
    if not parts:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = data_dir / f"set-aside-{stamp}"
    target.mkdir(parents=True)
    for part in parts:
        part.rename(target / part.name)
    log.warning("index set aside in %s", target)
    return target



class Store(SharedMixin, MaintenanceMixin):
    """One data dir's index. Mutations are serialised; reads may run alongside them."""

    def __init__(
        self, data_dir: Path, embedder: Embedder, chunk_settings: ChunkSettings | None = None,
        chroma_server: ChromaServer | None = None,
    ):
        """Open (or create) the index; raises IndexMismatchError if another embedder built it.

        `chunk_settings` applies to a new or empty index; a filled one keeps the settings it
        was built with (change them with `reindex`). `chroma_server` (Settings.chroma_server)
        keeps the vectors on a Chroma server instead of embedded in data_dir/chroma.
        """
        self._open(Path(data_dir), embedder, chunk_settings, chroma_server, check_embedder=True)

    @classmethod
    def rebuild(cls, data_dir: Path, embedder: Embedder,
                chunk_settings: ChunkSettings | None = None,
                progress: Progress | None = None,
                chroma_server: ChromaServer | None = None) -> Store:
        """Open an index even if another embedder built it; re-embed everything with `embedder`."""
        store = cls.__new__(cls)
        store._open(Path(data_dir), embedder, chunk_settings, chroma_server, check_embedder=False)
        try:
            store.reindex(chunk_settings or store.chunk_settings, progress)
        except BaseException:
            store.close()
            raise
        return store

    # ------------------------------------------------------------------ opening

    def _open(self, data_dir: Path, embedder: Embedder, chunk_settings: ChunkSettings | None,
              chroma_server: ChromaServer | None, check_embedder: bool) -> None:
        self.data_dir, self.embedder, self.chroma_server = data_dir, embedder, chroma_server
        self._write_lock = threading.RLock()  # one mutation at a time
        self._state_lock = threading.RLock()  # short: in-memory tables while being changed
        self._pending = 0  # vectors added to Chroma whose chunks are not in the table yet
        self._unsynced: list[Path] = []  # docs/ files written since the last _persist
        self._set_home(data_dir)
        if chroma_server is not None:
            self._open_server(chunk_settings, chroma_server, check_embedder)
            return
        reg = load_registry(self._registry_path)
        mismatch = bool(reg.documents) and reg.embedder not in (None, embedder.name)
        if mismatch and check_embedder:
            raise embedder_mismatch(reg.embedder, embedder.name)
        self._reg = reg
        if not reg.documents and chunk_settings is not None:
            reg.chunk_settings = chunk_settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chroma = ChromaIndex(self.data_dir / "chroma", chroma_server)
        try:
            self._chunks = self._table_file.load()
            self._keyword = self._load_keyword()
            if not reg.documents and reg.embedder != embedder.name:
                self._adopt_embedder()
            if not mismatch:
                self._recover()
        except BaseException:
            self._chroma.close()
            raise

    def _open_server(self, chunk_settings: ChunkSettings | None, server: ChromaServer,
                     check_embedder: bool) -> None:
        """Server mode: the server holds the truth, the data dir a cache (lib.index.shared)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chroma = ChromaIndex(self.data_dir / "chroma", server)
        self._set_home(self.data_dir / "server-cache" / self._chroma.name)
        try:
            if not self._open_shared(chunk_settings, check_embedder):
                self._recover()
        except BaseException:
            self._chroma.close()
            raise

    def _load_keyword(self) -> KeywordIndex:
        """The saved BM25 index, or one rebuilt from the chunk table if missing or outdated."""
        if self._keyword_file.path.is_file():
            try:
                return self._keyword_file.load()
            except (IndexMismatchError, OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("keyword index not loadable (%s): rebuilding from the chunk table", exc)
        index = KeywordIndex()
        if self._chunks:
            index.add(list(self._chunks), [c.text for c in self._chunks.values()])
            self._keyword_file.save(index)
        return index

    def _adopt_embedder(self) -> None:
        """An empty index takes the current embedder (new collection: the dimension may differ)."""
        if self._chroma.count():
            self._chroma.reset()
        self._reg.embedder, self._reg.dim = self.embedder.name, None
        save_registry(self._registry_path, self._reg)

    def _recover(self) -> None:
        """Finish an interrupted re-index, or repair leftovers of a crash."""
        if self._reg.pending_reindex is not None:
            if self._shared is not None and self._reindex_elsewhere():
                return  # another instance is re-indexing right now
            log.warning("resuming an interrupted re-index")
            self.reindex(self._reg.pending_reindex)
            return
        problems = self.check_consistency()
        if problems:
            log.warning("index inconsistent (%s): repairing", "; ".join(problems))
            self.repair()

    def refresh(self) -> None:
        """Catch up with other instances' writes now (server mode; embedded: nothing to do)."""
        self._sync(force=True)

    def close(self) -> None:
        """Release Chroma's handle (call before copying or deleting the data dir)."""
        if self._shared is not None and self._cache_dirty:
            try:
                self._save_cache()
            except OSError:  # only a cache: the next open refetches
                log.warning("could not save the local copy of the shared index", exc_info=True)
        self._chroma.close()

    # ------------------------------------------------------------------ paths

    def _set_home(self, home: Path) -> None:
        """Where registry.json and index/ live (server mode: a cache dir)."""
        self._home = home
        self._table_file = ChunkTableFile(home / "index" / "chunks.json")
        self._keyword_file = KeywordFile(home / "index" / "keyword.npz")

    @property
    def _registry_path(self) -> Path:
        return self._home / "registry.json"

    def _doc_path(self, doc_id: str) -> Path:
        return self.data_dir / "docs" / f"{doc_id}.json"

    # ------------------------------------------------------------------ reading

    @property
    def vector_backend(self) -> str:
        """Where the vectors live: "embedded Chroma" or "Chroma server host:port"."""
        return self._chroma.label

    @property
    def embedder_name(self) -> str | None:
        """The embedder that built the index (None for a new one)."""
        return self._reg.embedder

    @property
    def chunk_settings(self) -> ChunkSettings:
        return self._reg.chunk_settings

    @property
    def n_documents(self) -> int:
        self._sync()
        return len(self._reg.documents)

    @property
    def n_chunks(self) -> int:
        self._sync()
        return len(self._chunks)

    def documents(self) -> list[DocumentRecord]:
        self._sync()
        with self._state_lock:
            return list(self._reg.documents.values())

    def documents_page(self, offset: int, limit: int) -> tuple[list[DocumentRecord], int]:
        """Documents [offset, offset + limit) in ingestion order, and how many there are."""
        self._sync()
        with self._state_lock:
            records = self._reg.documents.values()
            total = len(records)
            start = max(offset, 0)
            return list(itertools.islice(records, start, start + max(limit, 0))), total

    def chunk(self, chunk_id: str) -> Chunk:
        """A chunk by id (KeyError if unknown)."""
        return self._chunks[chunk_id]

    def chunks(self) -> list[Chunk]:
        self._sync()
        with self._state_lock:
            return list(self._chunks.values())

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order ([] if unknown)."""
        self._sync()
        with self._state_lock:
            record = self._reg.documents.get(doc_id)
            n = record.chunks if record else 0
            ids = (chunk_id(doc_id, i) for i in range(n))
            return [self._chunks[i] for i in ids if i in self._chunks]

    def parsed_document(self, doc_id: str) -> ParsedDocument | None:
        """The stored parsed pages of a document (None if unknown)."""
        return self._load_pages(doc_id) if doc_id in self._reg.documents else None

    def _load_pages(self, doc_id: str) -> ParsedDocument | None:
        """Parsed pages from docs/ (embedded) or the document's row on the server."""
        if self._shared is not None:
            return self._shared.parsed(doc_id)
        return load_parsed(self._doc_path(doc_id))

    def vector_query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity), best first."""
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if self._reg.dim is not None and vector.shape[0] != self._reg.dim:
            raise IndexMismatchError(
                f"The query has {vector.shape[0]} dimensions but the index {self._reg.dim}: "
                "re-index with this embedder or switch back."
            )
        self._sync()
        if k <= 0 or not self._chunks:
            return []
        # Over-fetch by what an ingest in progress has added but not yet tabled.
        found = self._chroma.query(vector, k + self._pending)
        return [(i, s) for i, s in found if i in self._chunks][:k]

    def keyword_query(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first, scores > 0 only."""
        self._sync()
        return self._keyword.search(query, k)

    def vector_scores(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Exact cosine similarity of the given chunks (lets hybrid score the candidate union)."""
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        found = self._chroma.vectors([i for i in ids if i in self._chunks])
        return {i: float(v @ query) for i, v in found.items()}

    def keyword_scores(self, query: str, ids: Sequence[str]) -> dict[str, float]:
        """Exact BM25 of the given chunks (0.0 when they share no term with the query)."""
        return self._keyword.scores_for(query, ids)

    # ------------------------------------------------------------------ writing

    def ingest(self, files: Sequence[tuple[str, bytes]], progress: Progress | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES,
               max_chunks: int = DEFAULT_MAX_CHUNKS, hooks=None) -> list[IngestResult]:
        """Index uploaded files (name, bytes); one result per file, atomic per document.

        A file over `max_bytes` or making more than `max_chunks` chunks is refused before
        any embedding; the rest of the batch still ingests.
        """
        with self._write_lock:
            self._sync(force=True)  # duplicates are checked against every instance's documents
            return ingest_files(self, files, progress, max_bytes, max_chunks, hooks)

    def _known_shas(self) -> dict[str, str]:
        return {r.sha256: r.name for r in self._reg.documents.values()}

    def _commit(self, items: Sequence[tuple[ParsedDocument, list[Chunk], DocumentRecord | None]],
                vectors: np.ndarray) -> None:
        """Add documents' chunks to every index in memory (+ Chroma, their pages); all or nothing.

        Each item is (parsed doc, chunks, record to keep or None for a new record).
        Embedded: the chunk table, keyword index and registry reach disk in `_persist`.
        Server: the documents' rows are written after their chunks; from then on they count.
        """
        chunks = [c for _, cs, _ in items for c in cs]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        records = [replace(old, chunks=len(cs)) if old else _record(doc, len(cs), now)
                   for doc, cs, old in items]
        self._pending = len(chunks)
        try:
            if self._shared is not None:  # marked first: repair leaves a write in flight alone
                self._shared.begin([r.doc_id for r in records])
            self._chroma.add(chunks, vectors)  # rolls itself back on failure
            try:
                self._save_pages([doc for doc, _, _ in items], records)
            except BaseException:
                self._chroma.delete([c.id for c in chunks])
                if self._shared is not None:
                    self._shared.forget_pending([r.doc_id for r in records])
                raise
            with self._state_lock:
                self._chunks.update((c.id, c) for c in chunks)
                self._keyword.add([c.id for c in chunks], [c.text for c in chunks])
                self._reg.documents.update((r.doc_id, r) for r in records)
                self._reg.embedder, self._reg.dim = self.embedder.name, int(vectors.shape[1])
        finally:
            self._pending = 0

    def _save_pages(self, docs: Sequence[ParsedDocument], records: list[DocumentRecord]) -> None:
        """Embedded: docs/ files (fsynced together in _persist: one per file is slow).
        Server: the documents' complete rows (pages included), then one change-log entry."""
        if self._shared is not None:
            self._shared.complete(list(zip(records, docs)))
            self._own_change("commit")
            return
        written: list[Path] = []
        try:
            for doc in docs:
                written.append(self._doc_path(doc_id_for(doc.sha256)))
                save_parsed(written[-1], doc, sync=False)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        self._unsynced.extend(written)

    def _persist(self) -> None:
        """Parsed pages, chunk table and keyword index first, registry (the truth) last.

        The table and BM25 files append only what changed (lib.journal): a batch's cost
        does not grow with the index.
        """
        fsync_files(self._unsynced)
        self._unsynced = []
        with self._state_lock:
            self._table_file.save(self._chunks)
            self._keyword_file.save(self._keyword)
            save_registry(self._registry_path, self._reg)

    def _remove_chunks(self, ids: Sequence[str]) -> None:
        """Drop chunk ids from every index (in memory; Chroma directly)."""
        self._chroma.delete(ids)
        with self._state_lock:
            for i in ids:
                self._chunks.pop(i, None)
            self._keyword.remove(ids)

    def _ids_of(self, doc_id: str, n: int) -> list[str]:
        """A document's chunk ids: what the registry implies plus any the table holds."""
        implied = {chunk_id(doc_id, i) for i in range(n)}
        return sorted(implied | {i for i in self._chunks if i.startswith(chunk_id_prefix(doc_id))})

    def delete(self, doc_id: str) -> bool:
        """Remove a document everywhere; False if it was not indexed."""
        with self._write_lock:
            self._sync(force=True)  # another instance may have added or removed it
            with self._state_lock:
                record = self._reg.documents.pop(doc_id, None)
            if record is None:
                return False
            # The truth first (registry / the server's row): leftovers get repaired.
            if self._shared is None:
                save_registry(self._registry_path, self._reg)
            else:
                self._shared.remove([doc_id])
            self._remove_chunks(self._ids_of(doc_id, record.chunks))
            if self._shared is not None:
                self._own_change("delete")
            self._persist()
            self._doc_path(doc_id).unlink(missing_ok=True)
            return True

    def clear(self) -> None:
        """Remove every document (the embedder and chunk settings stay)."""
        with self._write_lock:
            with self._state_lock:
                self._reg.documents.clear()
                self._reg.pending_reindex = None
            if self._shared is None:
                save_registry(self._registry_path, self._reg)
            else:  # every instance's documents; the new epoch makes the others start afresh
                self._shared.remove(sorted(self._shared.records()))
                self._reg.epoch = new_epoch()
                self._publish_settings("clear")
            self._chroma.reset()
            with self._state_lock:
                self._chunks, self._keyword = {}, KeywordIndex()
            self._persist()
            for path in (self.data_dir / "docs").glob("*.json"):
                path.unlink(missing_ok=True)


def _record(doc: ParsedDocument, n_chunks: int, now: str) -> DocumentRecord:
    """A new registry entry."""
    return DocumentRecord(
        doc_id=doc_id_for(doc.sha256), name=doc.name, sha256=doc.sha256, kind=doc.kind,
        pages=len(doc.pages), chunks=n_chunks, size=doc.size, ingested_at=now,
    )
