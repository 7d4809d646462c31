"""The index's catalog on a Chroma server, shared by every app instance that uses the index.

Two companion collections next to the chunk vectors `<name>`:
    <name>-docs  the "settings" row (embedder, dim, chunk settings, epoch, a re-index in
                 progress); one row per *complete* document (metadata: its DocumentRecord,
                 document: its parsed pages as JSON); one "pending-<doc_id>" row per
                 document being written, with the time its writer started.
    <name>-log   one row per change (commit, delete, clear, re-index), folded from time to
                 time into "base" rows; what the rows add up to is the version stamp.
The stamp must never repeat a value once changes happened (an instance compares it for
equality with the one it last synced at), yet Chroma has no transactions, so compaction never
deletes a counted row. It adds a base row naming the rows it read as counted and worth the
stamp it read; named rows stop counting at once. The stamp is the largest counted base's
worth plus the counted change rows, i.e. the changes ever made, also while two instances
compact at once (a base's worth is the change count at its read, so the latest read wins,
and the changes after it are named by no base yet). Then rows a present base names are
deleted, leaves first, which changes nothing either; a compactor that dies midway leaves
rows the next one deletes.
Rows carry a 1-dim placeholder vector: Chroma wants a vector per row (and would otherwise
try to download its default embedder).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from lib.index.catalog import parsed_from_dict, parsed_to_dict
from lib.types import ChunkSettings, DocumentRecord, ParsedDocument

SETTINGS_ID = "settings"
PENDING = "pending-"
BASE = "base-"  # log rows standing for compacted ones
COMPACT_AT = 50  # log rows past which a writer compacts (the stamp reads every row)
_SWEEPS = 4
_PLACEHOLDER = [1.0]
_RECORD_FIELDS = tuple(f.name for f in fields(DocumentRecord))


@dataclass(frozen=True)
class LogRow:
    """A change-log row: a change (worth None) or a base worth `worth` changes, naming rows."""

    worth: int | None
    names: tuple[str, ...]


@dataclass(frozen=True)
class SharedSettings:
    """How the shared index is built; `epoch` changes when every chunk is rewritten or dropped."""

    embedder: str | None
    dim: int | None
    chunk_settings: ChunkSettings
    epoch: str
    pending_reindex: ChunkSettings | None = None
    pending_since: float = 0.0  # time.time() the re-index started (0 = none)


def new_epoch() -> str:
    """A fresh epoch tag (random: two instances never pick the same one)."""
    return uuid.uuid4().hex[:12]


class ServerCatalog:
    """Document records, settings and the change log of the index `name` on a Chroma server."""

    def __init__(self, client, name: str):  # client: a chromadb HttpClient
        self._docs = client.get_or_create_collection(f"{name}-docs")
        self._log = client.get_or_create_collection(f"{name}-log")

    # ------------------------------------------------------------------ version stamp

    def stamp(self) -> int:
        """The number of changes ever made (one request: the log is kept short)."""
        return _stamp(self._log_rows())

    def bump(self, op: str) -> None:
        """Record one change (unique id, so concurrent writers never overwrite each other)."""
        self._log.add(ids=[uuid.uuid4().hex], embeddings=[_PLACEHOLDER],
                      metadatas=[{"op": op, "at": time.time()}])
        if self._log.count() > COMPACT_AT:
            self.compact()

    def compact(self) -> None:
        """Fold the counted log rows into one base row, then delete what it stands for."""
        rows = self._log_rows()
        counted = _counted(rows)
        if len(counted) > 1:
            self._log.add(ids=[BASE + uuid.uuid4().hex], embeddings=[_PLACEHOLDER],
                          documents=[json.dumps(sorted(counted))],
                          metadatas=[{"op": "base", "worth": _stamp(rows), "at": time.time()}])
        for _ in range(_SWEEPS):  # a few rounds: bases naming older bases go leaves first
            rows = self._log_rows()
            named = set().union(*(r.names for r in rows.values()))
            # Deleting a row is safe once nothing it names is left: nothing starts counting.
            done = sorted(i for i in named & rows.keys() if not set(rows[i].names) & rows.keys())
            if not done:
                return
            self._log.delete(ids=done)

    def _log_rows(self) -> dict[str, LogRow]:
        """Every log row by id, in one consistent read."""
        res = self._log.get(include=["metadatas", "documents"])
        return {i: LogRow(int(meta["worth"]), tuple(json.loads(doc))) if i.startswith(BASE)
                else LogRow(None, ()) for i, meta, doc
                in zip(res["ids"], res["metadatas"], res["documents"])}

    # ------------------------------------------------------------------ settings

    def settings(self) -> SharedSettings | None:
        """The settings row (None for an index nobody has written yet)."""
        res = self._docs.get(ids=[SETTINGS_ID], include=["documents"])
        if not res["ids"]:
            return None
        raw = json.loads(res["documents"][0])
        pending = raw.get("pending_reindex")
        return SharedSettings(
            embedder=raw.get("embedder"), dim=raw.get("dim"),
            chunk_settings=ChunkSettings(**raw["chunk_settings"]), epoch=raw["epoch"],
            pending_reindex=ChunkSettings(**pending) if pending else None,
            pending_since=float(raw.get("pending_since", 0.0)),
        )

    def put_settings(self, settings: SharedSettings) -> None:
        """Write the settings row."""
        self._upsert([SETTINGS_ID], [json.dumps(asdict(settings))], [{"row": "settings"}])

    # ------------------------------------------------------------------ documents

    def records(self) -> dict[str, DocumentRecord]:
        """Every complete document, by doc id (metadata only: no pages are transferred)."""
        res = self._docs.get(where={"row": "doc"}, include=["metadatas"])
        return {i: DocumentRecord(**{f: m[f] for f in _RECORD_FIELDS})
                for i, m in zip(res["ids"], res["metadatas"])}

    def parsed(self, doc_id: str) -> ParsedDocument | None:
        """A complete document's parsed pages (None if it has no row)."""
        res = self._docs.get(ids=[doc_id], include=["documents"])
        return parsed_from_dict(json.loads(res["documents"][0])) if res["ids"] else None

    def begin(self, doc_ids: Sequence[str]) -> None:
        """Mark documents as being written (before their chunks), so repair leaves them alone."""
        now = time.time()
        self._upsert([PENDING + d for d in doc_ids], ["" for _ in doc_ids],
                     [{"row": "pending", "doc_id": d, "since": now} for d in doc_ids])

    def pending(self) -> dict[str, float]:
        """Documents being written (or abandoned by a crash): doc id -> start time."""
        res = self._docs.get(where={"row": "pending"}, include=["metadatas"])
        return {str(m["doc_id"]): float(m["since"]) for m in res["metadatas"]}

    def complete(self, items: Sequence[tuple[DocumentRecord, ParsedDocument]]) -> None:
        """Write documents' rows (after all their chunks: now they count) and drop their marks."""
        if not items:
            return
        self._upsert([r.doc_id for r, _ in items],
                     [json.dumps(parsed_to_dict(doc)) for _, doc in items],
                     [{"row": "doc", **asdict(r)} for r, _ in items])
        self.forget_pending([r.doc_id for r, _ in items])

    def forget_pending(self, doc_ids: Sequence[str]) -> None:
        """Drop documents' being-written marks (unknown ids are ignored)."""
        if doc_ids:
            self._docs.delete(ids=[PENDING + d for d in doc_ids])

    def remove(self, doc_ids: Sequence[str]) -> None:
        """Drop documents' rows: from now on they are gone for every instance."""
        if doc_ids:
            self._docs.delete(ids=list(doc_ids))

    def _upsert(self, ids: list[str], documents: list[str], metadatas: list[dict]) -> None:
        self._docs.upsert(ids=ids, embeddings=[_PLACEHOLDER] * len(ids), documents=documents,
                          metadatas=metadatas)



def _counted(rows: dict[str, LogRow]) -> dict[str, LogRow]:
    """The rows no present base names."""
    named = set().union(*(r.names for r in rows.values()))
    return {i: r for i, r in rows.items() if i not in named}


def _stamp(rows: dict[str, LogRow]) -> int:
    """The largest counted base's worth plus the counted change rows (see the module docstring)."""
    counted = _counted(rows).values()
    return (max((r.worth for r in counted if r.worth is not None), default=0)
            + sum(r.worth is None for r in counted))
