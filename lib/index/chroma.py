"""The vector side of the store: one Chroma collection of chunk vectors (cosine), embedded or on a server."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lib.config import ChromaServer
from lib.types import Chunk, IndexMismatchError, RagLabError

log = logging.getLogger(__name__)

COLLECTION = "chunks"
SERVER_COLLECTION_FILE = "server-collection"  # in the local chroma folder: this index's name on a server
# Chroma cannot store None in metadata: these stand for "no page" / "no section".
NO_PAGE = -1
NO_SECTION = ""
_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,498}[a-zA-Z0-9]")  # room for "-docs"


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    """A chunk's place, in a form Chroma accepts (no None values)."""
    return {
        "doc_id": chunk.doc_id,
        "doc_name": chunk.doc_name,
        "page": NO_PAGE if chunk.page is None else chunk.page,
        "section": NO_SECTION if chunk.section is None else chunk.section,
        "start": chunk.start,
        "end": chunk.end,
    }


def chunk_from_row(chunk_id: str, text: str, meta: dict) -> Chunk:
    """The inverse of `chunk_metadata` (a chunk read back from the server)."""
    page, section = meta["page"], meta["section"]
    return Chunk(chunk_id, str(meta["doc_id"]), str(meta["doc_name"]),
                 None if page == NO_PAGE else int(page), None if section == NO_SECTION else section,
                 int(meta["start"]), int(meta["end"]), text)


def existing_server_collection(path: Path, shared: str = "") -> str | None:
    """This index's collection name on a server if it has one yet (`shared` wins); never makes one."""
    if shared:
        if not _NAME_RE.fullmatch(shared):
            raise RagLabError(f"RAGLAB_CHROMA_COLLECTION {shared!r} is not a valid Chroma name: "
                              "use 3-500 letters, digits, '.', '_' or '-'.")
        return shared
    file = path / SERVER_COLLECTION_FILE
    name = file.read_text(encoding="utf-8").strip() if file.is_file() else ""
    return name or None


def server_collection_name(path: Path, shared: str = "") -> str:
    """This index's collection name on a shared server, kept in `path` (made on first use).

    A server holds many data dirs' indexes, so each gets its own name; the name moves with
    the data dir (and with a set-aside index), so a new empty index never reuses it.
    `shared` (RAGLAB_CHROMA_COLLECTION) names one index that several instances share instead.
    """
    name = existing_server_collection(path, shared)
    if name:
        return name
    file = path / SERVER_COLLECTION_FILE
    name = f"{COLLECTION}-{uuid.uuid4().hex[:16]}"
    tmp = file.with_suffix(".tmp")
    tmp.write_text(name, encoding="utf-8")
    tmp.replace(file)
    return name


class ChromaIndex:
    """Chroma over `path` (embedded) or on `server`; vectors are always passed in, never computed here.

    (Chroma's own default embedder would try to download a model and fail offline.)
    """

    def __init__(self, path: Path, server: ChromaServer | None = None):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path.mkdir(parents=True, exist_ok=True)
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        self.server = server
        if server is None:
            self.name = COLLECTION
            self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self._collection = self._open()
        else:
            self.name = server_collection_name(path, server.collection)
            try:
                self._client = chromadb.HttpClient(
                    host=server.host, port=server.port, ssl=server.ssl,
                    headers=server.headers(), settings=chroma_settings,
                )
                self._collection = self._open()
            except Exception as exc:  # noqa: BLE001 - unreachable, refused, bad token...
                log.warning("Chroma server %s: %s", server.label, type(exc).__name__)
                raise RagLabError(
                    f"The Chroma server at {server.label} cannot be reached or refused the "
                    "connection: start it (make chroma) or check RAGLAB_CHROMA_HOST/PORT/TOKEN."
                ) from exc
        self.max_batch = max(1, int(self._client.get_max_batch_size()))

    def _open(self):  # -> chromadb Collection
        """The chunks collection, created with cosine space when new."""
        return self._client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}
        )

    @property
    def label(self) -> str:
        """What the UI shows: "embedded Chroma" or "Chroma server host:port"."""
        return "embedded Chroma" if self.server is None else f"Chroma server {self.server.label}"

    def count(self) -> int:
        """How many vectors the collection holds."""
        return int(self._collection.count())

    def ids(self) -> set[str]:
        """Every id in the collection."""
        return set(self._collection.get(include=[])["ids"])

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Add chunks in batches <= Chroma's max; if any batch fails, remove what was added."""
        added: list[str] = []
        try:
            for start in range(0, len(chunks), self.max_batch):
                part = chunks[start : start + self.max_batch]
                ids = [c.id for c in part]
                embeddings = np.asarray(vectors[start : start + len(part)], dtype=np.float32)
                if self.server is None:
                    # Vectors only: the chunk table holds text and place, and Chroma's
                    # full-text index of documents plus the metadata rows were 2/3 of the
                    # add's CPU (1.6 vs 0.5 s per 2,046 chunks), taken from the embedder.
                    self._collection.add(ids=ids, embeddings=embeddings)
                else:
                    # The server is the truth: text and place travel with the vector. Upsert:
                    # another instance may write the same chunk ids (same content hash) at
                    # the same time, and a re-index rewrites ids in place.
                    self._collection.upsert(ids=ids, embeddings=embeddings,
                                            documents=[c.text for c in part],
                                            metadatas=[chunk_metadata(c) for c in part])
                added.extend(ids)
        except Exception as exc:
            self._undo(added)
            if "dimension" in str(exc).lower():
                raise IndexMismatchError(
                    "The vectors do not match the index's dimension: re-index with this embedder."
                ) from exc
            raise

    def _undo(self, ids: list[str]) -> None:
        """Best-effort removal after a failed add (startup repair catches what is left)."""
        try:
            self.delete(ids)
        except Exception:  # noqa: BLE001 - already failing; the original error matters
            log.exception("could not roll back %d chunk vectors", len(ids))

    def delete(self, ids: Iterable[str]) -> None:
        """Remove ids (unknown ids are ignored), in batches."""
        ids = list(ids)
        for start in range(0, len(ids), self.max_batch):
            self._collection.delete(ids=ids[start : start + self.max_batch])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-k (id, cosine similarity), best first."""
        n = self.count()
        if n == 0 or k <= 0:
            return []
        res = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            n_results=min(k, n),
            include=["distances"],
        )
        # cosine space: distance = 1 - cosine similarity
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (unknown ids skipped): exact scores for fusion."""
        if not ids:
            return {}
        res = self._collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], res["embeddings"])}

    def chunks(self, doc_ids: Sequence[str]) -> list[Chunk]:
        """The chunks these documents have on the server, rebuilt from text + metadata."""
        out: list[Chunk] = []
        for start in range(0, len(doc_ids), 100):  # keeps each `$in` filter short
            part = list(doc_ids[start : start + 100])
            res = self._collection.get(where={"doc_id": {"$in": part}},
                                       include=["documents", "metadatas"])
            out += [chunk_from_row(i, t, m)
                    for i, t, m in zip(res["ids"], res["documents"], res["metadatas"])]
        return out

    def reset(self) -> None:
        """Drop every vector; embedded: a new collection (a new embedder may change the dimension).

        On a server other instances hold a handle on the collection, so it is emptied instead
        (its dimension then stays).
        """
        if self.server is None:
            self._client.delete_collection(self.name)
            self._collection = self._open()
        else:
            self.delete(sorted(self.ids()))

    @property
    def client(self):  # -> chromadb client
        """The Chroma client (the server catalog keeps its collections next to this one)."""
        return self._client

    def close(self) -> None:
        """Release the Chroma client (its SQLite handle for this path, or its HTTP connections)."""
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing twice or at shutdown is harmless
            log.debug("chroma close failed", exc_info=True)
