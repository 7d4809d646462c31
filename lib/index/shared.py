"""Server mode: the Chroma server holds the truth; this instance keeps a synced local copy.

A mixin of lib.index.store.Store (the design is in that module's docstring). The local copy
(registry, chunk table, BM25) lives in <data>/server-cache/<collection>/ and is only a
cache: on open and whenever the server's version stamp moves, it is diffed against the
server's document rows and the chunks of new or changed documents are fetched.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import replace

from lib.index.catalog import (
    Registry,
    embedder_mismatch,
    load_parsed,
    load_registry,
)
from lib.index.server_catalog import ServerCatalog, SharedSettings, new_epoch
from lib.ingest.chunking import split_document
from lib.retrieval.keyword import KeywordIndex
from lib.types import (
    ChunkSettings,
    DocumentRecord,
    IndexMismatchError,
    ParsedDocument,
    chunk_id,
    doc_id_of,
)

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0  # reads look at the server's stamp at most this often (one count() request)
# A half-written document younger than this may still be being written by another instance:
# repair leaves it alone. Writing one group of chunks takes seconds, so 10 minutes is ample.
ORPHAN_GRACE_S = 600.0
CACHE_SAVE_S = 30.0  # a cache changed by syncing is saved at most this often (and on close)


def implied_ids(records: dict[str, DocumentRecord]) -> set[str]:
    """Every chunk id these document records imply."""
    return {chunk_id(d, i) for d, r in records.items() for i in range(r.chunks)}


def abandoned(since: float) -> bool:
    """Whether a write that started at `since` (time.time()) is past the grace period."""
    return time.time() - since > ORPHAN_GRACE_S


class SharedMixin:
    """Opening on a server, syncing with other instances, and the server side of checks."""

    _shared: ServerCatalog | None = None

    # ------------------------------------------------------------------ opening

    def _open_shared(self, chunk_settings: ChunkSettings | None, check_embedder: bool) -> bool:
        """Open the shared index; returns whether another embedder built it (for `_open`)."""
        self._shared = ServerCatalog(self._chroma.client, self._chroma.name)
        self._seen, self._checked_at, self._saved_at = -1, 0.0, time.monotonic()
        self._rows: dict[str, DocumentRecord] = {}
        self._reindex_since, self._cache_dirty = 0.0, False
        self._load_cache()
        settings = self._shared.settings()
        push: list[tuple[ParsedDocument, DocumentRecord]] = []
        if settings is None:
            settings, push = self._first_settings(chunk_settings)
        filled = bool(push) or bool(self._shared.records())
        mismatch = filled and settings.embedder not in (None, self.embedder.name)
        if mismatch and check_embedder:
            raise embedder_mismatch(settings.embedder, self.embedder.name)
        if not filled and (settings.embedder != self.embedder.name
                           or (chunk_settings and chunk_settings != settings.chunk_settings)):
            # An empty index takes this instance's embedder and chunk settings. Its vectors
            # are not reset here: an instance may be writing its first document right now.
            self._shared.put_settings(replace(
                settings, embedder=self.embedder.name, dim=None, epoch=new_epoch(),
                chunk_settings=chunk_settings or settings.chunk_settings))
            self._shared.bump("settings")
        self._sync(force=True)
        self._push_local(push)
        return mismatch

    def _load_cache(self) -> None:
        """The local copy, or an empty one if missing, unreadable or not self-consistent."""
        try:
            reg, chunks = load_registry(self._registry_path), self._table_file.load()
        except IndexMismatchError as exc:
            log.warning("local copy of the shared index unreadable (%s): refetching", exc.reason)
            reg, chunks = Registry(), {}
        self._reg, self._chunks = reg, chunks
        self._keyword = self._load_keyword()
        # Two instances sharing one data dir may interleave these files: then start afresh.
        if not (reg.expected_ids() == set(chunks) == self._keyword.ids()):
            log.warning("local copy of the shared index is mixed up: refetching it")
            self._reg, self._chunks, self._keyword = Registry(), {}, KeywordIndex()

    def _first_settings(self, chunk_settings: ChunkSettings | None
                        ) -> tuple[SharedSettings, list[tuple[ParsedDocument, DocumentRecord]]]:
        """A new shared index: publish its settings; this data dir's own index moves into it."""
        local = load_registry(self.data_dir / "registry.json")
        keep = bool(local.documents) and local.embedder in (None, self.embedder.name)
        settings = SharedSettings(
            embedder=self.embedder.name, dim=local.dim if keep else None, epoch=new_epoch(),
            chunk_settings=local.chunk_settings if keep else chunk_settings or ChunkSettings())
        self._shared.put_settings(settings)
        self._shared.bump("settings")
        if not keep:
            return settings, []
        found = ((load_parsed(self.data_dir / "docs" / f"{r.doc_id}.json"), r)
                 for r in local.documents.values())
        return settings, [(doc, r) for doc, r in found if doc is not None]

    def _push_local(self, push: list[tuple[ParsedDocument, DocumentRecord]]) -> None:
        """Documents of the data dir's embedded index join the shared one (once, when it is new)."""
        push = [(doc, r) for doc, r in push if r.doc_id not in self._rows]
        if not push:
            return
        with self._write_lock:
            present = self._chroma.ids()  # vectors an earlier server-mode version already wrote
            ready = [(r, doc) for doc, r in push
                     if implied_ids({r.doc_id: r}) <= present and r.chunks > 0]
            if ready:
                self._shared.complete(ready)
                self._shared.bump("commit")
            done = {r.doc_id for r, _ in ready}
            for doc, record in push:
                if record.doc_id not in done:
                    chunks = split_document(doc, self.chunk_settings)
                    self._commit([(doc, chunks, record)],
                                 self.embedder.embed([c.text for c in chunks]))
            self._sync(force=True)
            self._persist()

    # ------------------------------------------------------------------ syncing

    def _sync(self, force: bool = False) -> None:
        """Catch up with other instances' writes (server mode; throttled unless `force`)."""
        if self._shared is None:
            return
        now = time.monotonic()
        if not force and now - self._checked_at < SYNC_INTERVAL_S:
            return
        if not self._write_lock.acquire(blocking=force):
            return  # this process is writing: it syncs on its next read after that
        try:
            self._checked_at = now
            stamp = self._shared.stamp()  # before the rows: a change after it is seen next time
            if stamp == self._seen and not force:
                return
            complete = self._apply(self._shared.settings(), self._shared.records())
            self._seen = stamp if complete else -1
        except Exception as exc:  # noqa: BLE001 - serve the local copy while the server is away
            if force:
                raise
            log.warning("could not sync with the Chroma server (%s)", type(exc).__name__)
        finally:
            self._write_lock.release()
        if self._cache_dirty and time.monotonic() - self._saved_at > CACHE_SAVE_S:
            self._save_cache()

    def _apply(self, settings: SharedSettings | None, rows: dict[str, DocumentRecord]) -> bool:
        """Make the local copy match the server; False if some document was mid-rewrite."""
        if settings is None:
            return True
        reg = self._reg
        renewed = (settings.epoch, settings.embedder, settings.chunk_settings) != (
            reg.epoch, reg.embedder, reg.chunk_settings)
        with self._state_lock:
            self._rows, self._reindex_since = rows, settings.pending_since
            reg.pending_reindex = settings.pending_reindex
            if renewed:  # re-indexed, cleared or rebuilt: every chunk may differ
                self._chunks, self._keyword, reg.documents = {}, KeywordIndex(), {}
                reg.embedder, reg.chunk_settings = settings.embedder, settings.chunk_settings
                reg.epoch = settings.epoch
            reg.dim = settings.dim if settings.dim is not None else reg.dim
        gone = [d for d, r in reg.documents.items() if rows.get(d) != r]
        new = [d for d, r in rows.items() if reg.documents.get(d) != r]
        if not gone and not new and not renewed:
            return True
        by_doc = defaultdict(list)
        for chunk in self._chroma.chunks(new):
            by_doc[chunk.doc_id].append(chunk)
        complete = True
        with self._state_lock:
            for doc_id in gone:
                self._drop_local(implied_ids({doc_id: reg.documents.pop(doc_id)}))
            added = []
            for doc_id in new:
                chunks = sorted(by_doc.get(doc_id, []), key=lambda c: c.id)
                if rows[doc_id].chunks == 0 or len(chunks) != rows[doc_id].chunks:
                    complete = False  # being rewritten (re-index, repair): fetched next time
                    continue
                added += chunks
                reg.documents[doc_id] = rows[doc_id]
            self._chunks.update((c.id, c) for c in added)
            self._keyword.add([c.id for c in added], [c.text for c in added])
            self._cache_dirty = True
        return complete

    def _drop_local(self, ids: set[str] | list[str]) -> None:
        """Forget chunks in this instance's copy only (the server keeps them)."""
        with self._state_lock:
            for i in ids:
                self._chunks.pop(i, None)
            self._keyword.remove(ids)

    def _save_cache(self) -> None:
        """Write the local copy (it only speeds up the next open: the server is the truth)."""
        self._cache_dirty, self._saved_at = False, time.monotonic()
        self._persist()

    def _own_change(self, op: str) -> None:
        """Log a change this instance made; its own entry does not count as someone else's."""
        self._shared.bump(op)
        if self._seen >= 0:
            self._seen += 1

    def _publish_settings(self, op: str | None = None) -> None:
        """Write the registry's settings (and a re-index in progress) to the server."""
        reg = self._reg
        self._shared.put_settings(SharedSettings(
            embedder=reg.embedder, dim=reg.dim, chunk_settings=reg.chunk_settings,
            epoch=reg.epoch, pending_reindex=reg.pending_reindex,
            pending_since=time.time() if reg.pending_reindex else 0.0))
        if op:
            self._own_change(op)

    # ------------------------------------------------------------------ consistency

    def _shared_state(self) -> tuple[set[str], set[str], set[str], list[str]]:
        """(vectors on the server, ids the rows imply, docs being written, abandoned marks).

        Read in the reverse of the writers' order (marks, chunks, row, unmark), so a document
        completed meanwhile is either still marked or already has its row: never an orphan.
        """
        present = self._chroma.ids()
        marks = self._shared.pending()
        self._sync(force=True)
        in_flight = {d for d, since in marks.items() if not abandoned(since)}
        return present, implied_ids(self._rows), in_flight, sorted(set(marks) - in_flight)

    def _reindex_elsewhere(self) -> bool:
        """Another instance is re-indexing right now (a recent re-index mark)."""
        return self._reg.pending_reindex is not None and not abandoned(self._reindex_since)

    def _check_shared(self) -> list[str]:
        """check_consistency on a server: the rows are the truth; in-flight writes are fine."""
        if self._reindex_elsewhere():
            return ["a re-index is in progress (possibly on another instance)"]
        present, expected, in_flight, stale = self._shared_state()
        problems = []
        extra = {i for i in present - expected if doc_id_of(i) not in in_flight}
        for label, ids, extra_ids in (("Chroma", present, extra),
                                      ("the chunk table", set(self._chunks), None),
                                      ("the keyword index", self._keyword.ids(), None)):
            if n := len(extra_ids if extra_ids is not None else ids - expected):
                problems.append(f"{label} has {n} chunks no registered document owns")
            if missing := len(expected - ids):
                problems.append(f"{label} lacks {missing} chunks of registered documents")
        if stale:
            problems.append(f"{len(stale)} documents were left half-written by a stopped instance")
        if self._reg.pending_reindex is not None:
            problems.append("a re-index was interrupted")
        return problems

    def _repair_shared(self) -> None:
        """repair on a server: drop orphans past the grace period, re-embed incomplete documents."""
        if self._reindex_elsewhere():
            return
        present, expected, in_flight, stale = self._shared_state()
        self._chroma.delete(sorted(i for i in present - expected if doc_id_of(i) not in in_flight))
        self._drop_local((set(self._chunks) | self._keyword.ids()) - expected)
        self._shared.forget_pending(stale)
        complete = present & set(self._chunks) & self._keyword.ids()
        for doc_id in sorted({doc_id_of(i) for i in expected - complete}):
            self._repair_document(doc_id)
        self._sync(force=True)
        self._save_cache()
