"""The index's files on disk: registry.json, the chunk table, parsed documents. All writes atomic.

Layout under the data dir:
    registry.json          format version, embedder, chunk settings, documents (the source of truth)
    index/chunks.json      the chunk table: each chunk's text and place (Hits need no Chroma trip)
    index/chunks.json.log  its journal: what each save added and dropped (ChunkTableFile)
    index/keyword.npz      the BM25 index (lib.retrieval.keyword), + keyword.npz.log (its journal)
    docs/<doc_id>.json     parsed pages, so re-indexing works without the original files
    chroma/                the vectors (lib.index.chroma)
Server mode keeps registry.json and index/ as a local copy under server-cache/<collection>/.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lib.config import ChromaServer
from lib.index.chroma import existing_server_collection
from lib.io import atomic_write_json
from lib.journal import JournaledFile, delta
from lib.types import (
    Chunk,
    ChunkSettings,
    DocumentRecord,
    EmbedderMismatchError,
    IndexMismatchError,
    Page,
    ParsedDocument,
    chunk_id,
)

FORMAT_VERSION = 1
_CHUNK_FIELDS = ("id", "doc_id", "doc_name", "page", "section", "start", "end", "text")


def _read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; an unreadable one is an IndexMismatchError with one line."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(
            f"The index's {what} ({path.name}) is unreadable ({type(exc).__name__}): "
            "clear the index."
        ) from None


@dataclass
class Registry:
    """What the index holds and how it was built (mutable; saved with `save_registry`)."""

    embedder: str | None = None
    dim: int | None = None
    chunk_settings: ChunkSettings = field(default_factory=ChunkSettings)
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    # Set while a re-index is swapping indexes: a crash then resumes it on open.
    pending_reindex: ChunkSettings | None = None
    # Server mode: the shared index's epoch this local cache was built from (lib.index.shared).
    epoch: str = ""

    @property
    def n_chunks(self) -> int:
        return sum(r.chunks for r in self.documents.values())

    def expected_ids(self) -> set[str]:
        """Every chunk id the registry implies (see `lib.types.chunk_id`)."""
        return {chunk_id(d, i) for d, r in self.documents.items() for i in range(r.chunks)}


def _settings_dict(s: ChunkSettings | None) -> dict[str, int] | None:
    return None if s is None else {"size": s.size, "overlap": s.overlap}


def save_registry(path: Path, reg: Registry) -> None:
    """Write registry.json atomically."""
    atomic_write_json(path, {
        "format": FORMAT_VERSION,
        "embedder": reg.embedder,
        "dim": reg.dim,
        "chunk_settings": _settings_dict(reg.chunk_settings),
        "pending_reindex": _settings_dict(reg.pending_reindex),
        "epoch": reg.epoch,
        "documents": [asdict(r) for r in reg.documents.values()],
    })


def load_registry(path: Path) -> Registry:
    """Read registry.json (an empty Registry when there is none yet)."""
    if not path.is_file():
        return Registry()
    raw = _read_json(path, "registry")
    version = raw.get("format") if isinstance(raw, dict) else None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index was written by a newer RAG Lab (format {version}): "
            "update the app or clear the index."
        )
    try:
        docs = [DocumentRecord(**d) for d in raw.get("documents", [])]
        pending = raw.get("pending_reindex")
        return Registry(
            embedder=raw.get("embedder"),
            dim=raw.get("dim"),
            chunk_settings=ChunkSettings(**(raw.get("chunk_settings") or {})),
            documents={d.doc_id: d for d in docs},
            pending_reindex=ChunkSettings(**pending) if pending else None,
            epoch=str(raw.get("epoch") or ""),
        )
    except (TypeError, ValueError) as exc:
        raise IndexMismatchError(
            f"The index's registry is malformed ({exc}): clear the index."
        ) from None


def embedder_mismatch(built_with: str | None, current: str) -> EmbedderMismatchError:
    """The one-line error for an index another embedder built."""
    back = f"'{built_with}'"
    if built_with and built_with.startswith("minilm-l6-v2@"):  # how to choose it (config)
        back += f" (RAGLAB_EMBEDDER=minilm:{built_with.split('@', 1)[1]})"
    return EmbedderMismatchError(
        f"This index was built with the embedder '{built_with}', not '{current}': "
        f"re-index the documents with '{current}' (Documents page) or switch back to {back}."
    )


@dataclass(frozen=True)
class IndexInfo:
    """What built an index and how big it is, read from its files without opening it."""

    embedder: str | None
    chunk_settings: ChunkSettings
    documents: int
    chunks: int
    backend: str  # "embedded" | "server" (then: this data dir's copy, as of its last sync)


def read_index_info(data_dir: Path, chroma_server: ChromaServer | None = None) -> IndexInfo | None:
    """The index a Store on `data_dir` (and `chroma_server`, if set) would open; None if none yet.

    Server mode reads the data dir's local copy (<data>/server-cache/<name>/), which is saved
    at most every 30 s (lib.index.shared.CACHE_SAVE_S) and on close: no request, so it may lag other instances.
    """
    data_dir = Path(data_dir)
    home, backend = data_dir, "embedded"
    if chroma_server is not None:
        name = existing_server_collection(data_dir / "chroma", chroma_server.collection)
        if name is None:
            return None
        home, backend = data_dir / "server-cache" / name, "server"
    path = home / "registry.json"
    if not path.is_file():
        return None
    reg = load_registry(path)
    return IndexInfo(reg.embedder, reg.chunk_settings, len(reg.documents), reg.n_chunks, backend)


class ChunkTableFile(JournaledFile):
    """The chunk table on disk: index/chunks.json (base) + chunks.json.log (journal, lib.journal).

    A save appends the chunks added and dropped since the last load or save. A base without
    a token (written before journals existed) is read as is and rewritten on the first save.
    """

    def __init__(self, path: Path):
        super().__init__(path)
        self._saved: dict[str, Chunk] = {}

    def load(self) -> dict[str, Chunk]:
        """The table (empty when missing): the base, then the journal's changes in order."""
        raw = _read_json(self.path, "chunk table") if self.path.is_file() else {}
        chunks = _rows_to_chunks(raw.get("fields"), raw.get("rows", []))
        for entry in self._entries(raw.get("token")):
            for i in entry.get("drop", []):
                chunks.pop(i, None)
            chunks.update(_rows_to_chunks(entry.get("fields"), entry.get("add", [])))
        self._saved = dict(chunks)
        return chunks

    def save(self, chunks: dict[str, Chunk]) -> None:
        """Append what changed since the last load or save (fsynced), or rewrite the base."""
        added, dropped = delta(chunks, self._saved)
        if not added and not dropped:
            return
        entry = {"fields": _CHUNK_FIELDS, "drop": dropped,
                 "add": _chunk_rows(chunks[i] for i in added)}
        self._store(entry, len(added) + len(dropped), len(chunks), lambda token: atomic_write_json(
            self.path, {"format": FORMAT_VERSION, "token": token, "fields": _CHUNK_FIELDS,
                        "rows": _chunk_rows(chunks.values())}))
        self._saved = dict(chunks)


def _chunk_rows(chunks: Iterable[Chunk]) -> list[list[Any]]:
    return [[getattr(c, f) for f in _CHUNK_FIELDS] for c in chunks]


def _rows_to_chunks(fields: Sequence[str] | None, rows: list[list[Any]]) -> dict[str, Chunk]:
    names = fields or _CHUNK_FIELDS
    return {row[0]: Chunk(**dict(zip(names, row))) for row in rows}


def parsed_to_dict(doc: ParsedDocument) -> dict[str, Any]:
    """A parsed document as JSON-ready data (docs/ files and the server's document rows)."""
    return {
        "format": FORMAT_VERSION,
        "name": doc.name,
        "kind": doc.kind,
        "sha256": doc.sha256,
        "size": doc.size,
        "pages": [[p.number, p.section, p.text] for p in doc.pages],
    }


def parsed_from_dict(raw: Any) -> ParsedDocument | None:
    """The inverse of `parsed_to_dict` (None when malformed)."""
    try:
        return ParsedDocument(
            name=raw["name"], kind=raw["kind"], sha256=raw["sha256"], size=raw["size"],
            pages=tuple(Page(number=n, section=s, text=t) for n, s, t in raw["pages"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def save_parsed(path: Path, doc: ParsedDocument, sync: bool = True) -> None:
    """Write a parsed document's pages atomically (`sync=False`: see `fsync_files`)."""
    atomic_write_json(path, parsed_to_dict(doc), sync)


def load_parsed(path: Path) -> ParsedDocument | None:
    """Read a parsed document (None when the file is missing or unreadable)."""
    if not path.is_file():
        return None
    try:
        return parsed_from_dict(_read_json(path, "parsed document"))
    except IndexMismatchError:
        return None
