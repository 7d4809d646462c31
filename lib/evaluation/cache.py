"""Embedding cache on disk: vectors keyed by embedder name + sha256 of the exact text.

Layout under <data dir>/cache/embeddings/<embedder slug>/:
    index.json          {"embedder": name, "dim": d, "shards": ["<id>", ...]}
    <id>.npy            float32 [n, d] vectors of one batch (one corpus run = one shard)
    <id>.keys.json      the n text hashes, in row order
Shards are written first and listed in index.json last (both atomically), so a crash
leaves at worst an unlisted shard, never a listed half-written one.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lib.io import atomic_write_bytes
from lib.types import CountProgress

MAX_SHARDS = 32  # past this many small shards, merge them into one so lookups stay cheap


def cache_root(data_dir: Path) -> Path:
    """Where a data dir keeps its embedding cache (<data dir>/cache/embeddings)."""
    return Path(data_dir) / "cache" / "embeddings"


def text_key(text: str) -> str:
    """The cache key of a text (sha256 hex of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "embedder"


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class EmbeddingCache:
    """Vectors of one embedder, looked up by text hash; safe to share between threads."""

    def __init__(self, root: Path, embedder_name: str, dim: int):
        self.folder = Path(root) / f"{_slug(embedder_name)}-{dim}"
        self.embedder_name, self.dim = embedder_name, dim
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[str, int]] = {}  # key -> (shard id, row)
        self._shards: list[str] = []
        self._arrays: dict[str, np.ndarray] = {}
        self._load_index()

    def __len__(self) -> int:
        return len(self._rows)

    def _load_index(self) -> None:
        try:
            meta = json.loads((self.folder / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # no cache yet (or unreadable: start afresh rather than fail a run)
        if meta.get("embedder") != self.embedder_name or meta.get("dim") != self.dim:
            return
        for shard in meta.get("shards", []):
            try:
                keys = json.loads((self.folder / f"{shard}.keys.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            self._shards.append(shard)
            for row, key in enumerate(keys):
                self._rows[key] = (shard, row)

    def _array(self, shard: str) -> np.ndarray:
        if shard not in self._arrays:
            # mmap: a big corpus's vectors are paged in on use, not read whole
            self._arrays[shard] = np.load(self.folder / f"{shard}.npy", mmap_mode="r")
        return self._arrays[shard]

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the keys that have one."""
        with self._lock:
            found: dict[str, np.ndarray] = {}
            for key in keys:
                where = self._rows.get(key)
                if where is not None:
                    found[key] = np.array(self._array(where[0])[where[1]], dtype=np.float32)
            return found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors as one shard (keys already cached are skipped)."""
        with self._lock:
            fresh = [i for i, k in enumerate(keys) if k not in self._rows]
            fresh = list({keys[i]: i for i in fresh}.values())  # one row per distinct text
            if not fresh:
                return
            self._write_shard([keys[i] for i in fresh], np.asarray(vectors, np.float32)[fresh])
            if len(self._shards) > MAX_SHARDS:
                self._compact()

    def _write_shard(self, keys: list[str], vectors: np.ndarray) -> None:
        """Write one shard, then list it in index.json (caller holds the lock)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shard = uuid.uuid4().hex[:12]
        atomic_write_bytes(self.folder / f"{shard}.npy", _npy_bytes(vectors))
        atomic_write_bytes(self.folder / f"{shard}.keys.json", json.dumps(keys).encode("utf-8"))
        self._shards.append(shard)
        for row, key in enumerate(keys):
            self._rows[key] = (shard, row)
        self._write_index()

    def _write_index(self) -> None:
        meta = {"embedder": self.embedder_name, "dim": self.dim, "shards": self._shards}
        atomic_write_bytes(self.folder / "index.json", json.dumps(meta).encode("utf-8"))

    def _compact(self) -> None:
        """Merge every shard into one (caller holds the lock)."""
        keys = list(self._rows)
        vectors = np.stack([self._array(s)[r] for s, r in (self._rows[k] for k in keys)])
        old = self._shards
        self._shards, self._rows, self._arrays = [], {}, {}
        self._write_shard(keys, vectors)
        for shard in old:
            for suffix in (".npy", ".keys.json"):
                (self.folder / f"{shard}{suffix}").unlink(missing_ok=True)


class CachedEmbedder:
    """An Embedder whose `embed` reads the cache and embeds (then stores) only the misses.

    `name` and `dim` are the wrapped embedder's, so an index built through this wrapper
    is indistinguishable from one built by the embedder itself.
    """

    def __init__(self, embedder, cache_root: Path):
        self.inner = embedder
        self.name: str = embedder.name
        self.dim: int = embedder.dim
        self.cache = EmbeddingCache(cache_root, self.name, self.dim)
        self.hits = 0
        self.misses = 0
        self._queries: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], progress: CountProgress | None = None) -> np.ndarray:
        """Vectors for `texts` in order; only texts never embedded before reach the model."""
        keys = [text_key(t) for t in texts]
        found = self.cache.get(keys)
        missing = list({k: i for i, k in enumerate(keys) if k not in found}.values())
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = self.inner.embed([texts[i] for i in missing], progress=progress)
            self.cache.put([keys[i] for i in missing], vectors)
            found.update({keys[i]: vectors[n] for n, i in enumerate(missing)})
        elif progress is not None:
            progress(len(texts), len(texts))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors through the model's own `embed_query`, cached as one shard.

        Queries get their own keys: an embedder may encode a query differently from a
        passage (an instruction prefix), so the two must never share a cache entry.
        """
        keys = [text_key("query\x00" + t) for t in texts]
        found = self.cache.get(keys)
        missing = list({k: i for i, k in enumerate(keys) if k not in found}.values())
        if missing:
            vectors = np.stack([self.inner.embed_query(texts[i]) for i in missing])
            self.cache.put([keys[i] for i in missing], vectors)
            found.update({keys[i]: vectors[n] for n, i in enumerate(missing)})
        for key, text in zip(keys, texts):
            self._queries[text] = found[key]
        return np.stack([found[k] for k in keys]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector: from `embed_queries` if primed, else the model (kept in memory)."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self._queries[text] = np.asarray(self.inner.embed_query(text), np.float32)
        return vector
