"""Text embedders: all-MiniLM-L6-v2 on onnxruntime (offline default) and OpenAI-compatible APIs."""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from lib.config import Settings
from lib.ingest.tokenizer import MAX_TOKENS, new_minilm_tokenizer
from lib.retrieval.quantize import (
    DEFAULT_VARIANT,
    RECIPES,
    build_quantized_model,
    default_cache_dir,
    shipped_model_path,
)
from lib.types import CountProgress, ProviderError

log = logging.getLogger(__name__)


MINILM_DIM = 384
# Which MiniLM file "minilm" means. The per-channel int8 files are ~1.5x faster than the
# shipped one and keep SciFact vector nDCG@10 within 0.005 of it (int8pc 0.6444 vs
# 0.6468, bench/embedder_quality.py; the gate for adopting them). int8pc-mha also fuses
# each layer's attention (lib.retrieval.fuse_attention): faster again without batching.
DEFAULT_MINILM_VARIANT = DEFAULT_VARIANT
MINILM_VARIANTS = (*RECIPES, "int8-shipped")
# Texts per onnxruntime call. Dynamic quantisation takes ONE activation scale per
# call, so batched int8pc vectors depend on their batch-mates (cosine 0.993 alone vs
# batched, measured). One text per call makes every vector reproducible (a chunk gets
# the same vector whatever it was uploaded with) at ~18% of speed: 7.2 vs 8.8 texts/s
# at batch 32, still 1.5x the shipped file (4.8; same noisy run). The shipped file is
# batch-invariant, so it keeps batches of 32.
DEFAULT_BATCH = {"int8pc-mha": 1, "int8pc": 1, "int8-shipped": 32}


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows, order preserved."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], progress: CountProgress | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def default_workers() -> int:
    """Concurrent model runs: one per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


# Speed without batching comes from concurrency: `workers` runs at a time on one shared
# session, each on `threads` intra-op threads. One-thread runs side by side beat one
# two-thread run (1.35x on idle cores for issue 16, 1.7x on a busy machine) because one
# text is too small to split well across threads; each vector equals a run alone.
# `threads=2, workers=1` is the older path, kept for bench/ingest.py's comparison.
class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through onnxruntime: mean pooling, L2-normalised, 384 dims."""

    def __init__(
        self,
        variant: str = DEFAULT_MINILM_VARIANT,
        model_path: Path | None = None,
        cache_dir: Path | None = None,
        batch_size: int | None = None,
        threads: int = 1,
        workers: int | None = None,
    ):
        if variant not in MINILM_VARIANTS:
            valid = ", ".join(MINILM_VARIANTS)
            raise ValueError(f"Unknown MiniLM variant {variant!r}; valid: {valid}")
        self.variant = variant
        self.name = f"minilm-l6-v2@{variant}"
        self.dim = MINILM_DIM
        self.batch_size = batch_size or DEFAULT_BATCH[variant]
        self.workers = workers or default_workers()
        self.model_path = model_path or self._resolve_model(variant, cache_dir)
        self._tokenizer = new_minilm_tokenizer()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # One session for all runs: onnxruntime's run() is thread-safe, and a second
        # session would hold a second copy of the weights for no measured gain.
        self._session = self._open_session(self.model_path, threads)
        # At most `workers` runs at once across all callers (ingest + queries): more
        # would oversubscribe the cores and slow every run down.
        self._slots = threading.BoundedSemaphore(self.workers)

    @staticmethod
    def _resolve_model(variant: str, cache_dir: Path | None) -> Path:
        """The model file for a variant, building the quantised one if missing."""
        if variant == "int8-shipped":
            return shipped_model_path()
        try:
            return build_quantized_model(cache_dir or default_cache_dir(), variant=variant)
        except OSError as exc:  # e.g. a read-only install: a per-user temp cache still works
            fallback = Path(tempfile.gettempdir()) / f"raglab-models-{os.getuid()}"
            log.warning("model cache not writable (%s): using %s", exc, fallback)
            return build_quantized_model(fallback, variant=variant)

    @staticmethod
    def _open_session(path: Path, threads: int):  # -> ort.InferenceSession
        """An onnxruntime CPU session with `threads` intra-op threads per run."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def _run_batch(self, encodings: list) -> np.ndarray:
        """Pad one batch to its longest text (pad id 0), run the model, mean-pool."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._slots:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return l2_normalize(pooled)

    def embed(self, texts: Sequence[str], progress: CountProgress | None = None) -> np.ndarray:
        """Embed texts in length-sorted batches (less padding); rows follow input order."""
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        if total == 0:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(total), key=lambda i: len(encodings[i].ids))
        batches = [order[s : s + self.batch_size] for s in range(0, total, self.batch_size)]
        if len(batches) == 1 or self.workers == 1:  # a query: no thread hop
            done = 0
            for rows in batches:
                out[rows] = self._run_batch([encodings[i] for i in rows])
                done += len(rows)
                if progress is not None:
                    progress(done, total)
            return out
        self._embed_concurrently(batches, encodings, out, progress)
        return out

    def _embed_concurrently(
        self, batches: list[list[int]], encodings: list, out: np.ndarray,
        progress: CountProgress | None,
    ) -> None:
        """Run the batches on `workers` threads, each taking the next one left."""
        # Progress is reported from the calling thread (UI callbacks may not run on
        # others); a callback that raises (a cancel) stops the workers before new runs.
        pending = iter(batches)
        take = threading.Lock()
        stop = threading.Event()
        finished: queue.SimpleQueue = queue.SimpleQueue()

        def work() -> None:
            try:
                while not stop.is_set():
                    with take:
                        rows = next(pending, None)
                    if rows is None:
                        return
                    out[rows] = self._run_batch([encodings[i] for i in rows])
                    finished.put(len(rows))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                finished.put(exc)

        n_workers = min(self.workers, len(batches))
        threads = [threading.Thread(target=work, daemon=True) for _ in range(n_workers)]
        for t in threads:
            t.start()
        try:
            done, total = 0, len(out)
            while done < total:
                item = finished.get()
                if isinstance(item, BaseException):
                    raise item
                done += item
                if progress is not None:
                    progress(done, total)
        finally:
            stop.set()  # on an error or a cancelling progress callback: no new runs
            for t in threads:
                t.join()

    def embed_query(self, text: str) -> np.ndarray:
        """One text -> one [dim] vector."""
        return self.embed([text])[0]


# Known output sizes, so `dim` needs no request; others are probed once.
_OPENAI_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """Embeddings from OpenAI or any server speaking its /v1/embeddings API."""

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str = "",
        batch_size: int = 128,
        timeout: float = 60.0,
        prefix: str = "openai",
    ):
        import openai

        self.model = model
        self.name = f"{prefix}:{model}"
        self.batch_size = batch_size
        self._label = "OpenAI" if prefix == "openai" else "The embedding server"
        # max_retries=1: a failing upload should say why quickly, not after minutes.
        self._client = openai.OpenAI(
            api_key=api_key or "missing", base_url=base_url or None, timeout=timeout, max_retries=1
        )
        self._dim: int | None = _OPENAI_DIMS.get(model)

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(name={self.name!r})"  # never the key

    @property
    def dim(self) -> int:
        """Vector size; probed with one request when the model is not in the table."""
        if self._dim is None:
            self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def _request(self, texts: list[str]) -> np.ndarray:
        """One embeddings call; errors become ProviderError with a one-line reason."""
        import openai

        from lib.generation.errors import host_of, map_error  # the one openai-error mapper

        # The API refuses empty strings; a space embeds as "nothing" just as well.
        inputs = [t if t.strip() else " " for t in texts]
        try:
            resp = self._client.embeddings.create(model=self.model, input=inputs)
        except openai.OpenAIError as exc:
            log.warning("embedding request failed: %s", type(exc).__name__)
            host = "OpenAI" if self._label == "OpenAI" else host_of(str(self._client.base_url))
            raise map_error(exc, host, self.model) from None
        rows = sorted(resp.data, key=lambda d: d.index)
        if len(rows) != len(inputs):
            raise ProviderError(
                f"{self._label} returned {len(rows)} vectors for {len(inputs)} texts."
            )
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def embed(self, texts: Sequence[str], progress: CountProgress | None = None) -> np.ndarray:
        """Embed in batches of `batch_size`; rows follow input order, L2-normalised."""
        total = len(texts)
        parts: list[np.ndarray] = []
        for start in range(0, total, self.batch_size):
            parts.append(self._request(list(texts[start : start + self.batch_size])))
            if progress is not None:
                progress(min(start + self.batch_size, total), total)
        if not parts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        vectors = l2_normalize(np.concatenate(parts))
        self._dim = int(vectors.shape[1])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """One text -> one [dim] vector."""
        return self.embed([text])[0]


_cache: dict[tuple[str, ...], Embedder] = {}
_cache_lock = threading.Lock()


def _build(settings: Settings) -> Embedder:
    """Construct the embedder named by settings.embedder."""
    spec = settings.embedder.strip() or "minilm"
    kind, _, rest = spec.partition(":")
    if kind == "minilm":
        return MiniLMEmbedder(variant=rest.lstrip("@") or DEFAULT_MINILM_VARIANT)
    if kind.startswith("minilm-l6-v2@"):  # an embedder *name*, as stored in an index
        return MiniLMEmbedder(variant=kind.split("@", 1)[1])
    if kind == "openai" and rest:
        return OpenAIEmbedder(rest, settings.openai_api_key, settings.openai_base_url)
    if kind == "compatible" and rest:
        return OpenAIEmbedder(
            rest, settings.compatible_api_key, settings.compatible_base_url, prefix="compatible"
        )
    raise ValueError(
        f"Unknown embedder {spec!r}; use 'minilm', 'minilm:int8-shipped', "
        "'openai:<model>' or 'compatible:<model>'."
    )


def get_embedder(settings: Settings) -> Embedder:
    """A process-wide shared embedder for these settings (loaded once)."""
    spec = settings.embedder.strip() or "minilm"
    key: tuple[str, ...] = (spec,)
    if not spec.startswith("minilm"):
        key += (settings.openai_base_url, settings.compatible_base_url,
                str(hash((settings.openai_api_key, settings.compatible_api_key))))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build(settings)
        return _cache[key]
