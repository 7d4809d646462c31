"""Ingestion as a background job (lib.jobs): upload batches queue, one at a time per data dir.

The page hands over an upload and returns at once; other sessions keep searching (the
Store serves reads beside a write). A second upload while one runs joins the running job's
queue rather than being refused, so nobody loses an upload. Cancelling a batch stops it at
the pipeline's next safe point (lib.ingest.pipeline.IngestHooks): files committed before
stay, the rest of that batch is reported "cancelled"; queued batches of others still run.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib import jobs
from lib.ingest.pipeline import GENERIC_REASON, FileProgress, IngestHooks, cancelled
from lib.jobs import Job
from lib.types import IngestResult, RagLabError

log = logging.getLogger(__name__)

# No ETA before this much evidence: a rate from one or two embedding batches is noise.
ETA_MIN_CHUNKS = 64
ETA_MIN_SECONDS = 2.0


@dataclass(frozen=True)
class Batch:
    """One upload: who sent it (the browser session id, "" if unknown) and its file names."""

    id: str
    owner: str
    label: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class BatchOutcome:
    """A finished batch: one result per file; `error` when the whole batch could not run."""

    batch: Batch
    results: tuple[IngestResult, ...]
    error: str = ""

    @property
    def cancelled(self) -> bool:
        return any(r.status == "cancelled" for r in self.results)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


@dataclass(frozen=True)
class IngestProgress:
    """The ingest job's part of a snapshot: the batch running, where it is, the queue, results."""

    current: Batch | None
    file: FileProgress | None
    eta: float | None  # seconds left in the current batch; None while estimating
    queued: tuple[Batch, ...]
    finished: tuple[BatchOutcome, ...]
    stopping: bool  # the current batch was asked to stop


def eta_seconds(progress: FileProgress | None) -> float | None:
    """Work left ÷ the embedding rate measured so far; None until there is enough data.

    Work is characters when the pipeline reports them (chunk lengths vary), else chunks.
    """
    if progress is None or progress.phase != "embedding" or not progress.chunks_total:
        return None
    seconds = progress.embed_seconds
    if progress.chunks_done < ETA_MIN_CHUNKS or seconds < ETA_MIN_SECONDS:
        return None
    done, total = ((progress.chars_done, progress.chars_total) if progress.chars_total
                   else (progress.chunks_done, progress.chunks_total))
    return max(total - done, 0) / (done / seconds) if done else None


class IngestJob(Job[IngestProgress]):
    """Runs upload batches through `store.ingest` in a thread, in the order they came."""

    kind = "ingest"
    busy = "An upload is being indexed: try again in a moment."
    queues = True  # lib.jobs.start hands a second upload to the running job (absorb)

    def __init__(self, store: Any, files: Sequence[tuple[str, bytes]], owner: str = "",
                 label: str = "", max_bytes: int | None = None, max_chunks: int | None = None):
        super().__init__(store.data_dir, "Indexing uploads", len(files), state="running")
        self.store, self.max_bytes, self.max_chunks = store, max_bytes, max_chunks
        self.batch = Batch(uuid.uuid4().hex, owner, label or f"{len(files)} files",
                           tuple(name for name, _ in files))
        self._queue: deque[tuple[Batch, list[tuple[str, bytes]]]] = deque([(self.batch, list(files))])
        self._current: Batch | None = None
        self._file: FileProgress | None = None
        self._finished: list[BatchOutcome] = []
        self._stop_all = threading.Event()
        self._stop_current = threading.Event()
        self._accepting = True  # False once the thread has taken its last batch
        self._files_before = 0  # files of the batches finished before the current one

    # ---------------------------------------------------------------- lib.jobs API
    def launch(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="raglab-ingest").start()

    def absorb(self, other: Job[Any]) -> bool:
        """Queue `other`'s batch behind ours; False if this job is already closing."""
        if not isinstance(other, IngestJob):
            return False
        with self.lock:
            if not self._accepting:
                return False
            self._queue.extend(other._queue)
            self.total += other.total
            return True

    def cancel(self) -> None:
        """Stop the current batch at its next safe point and drop every queued one."""
        self._stop_all.set()
        self._stop_current.set()

    def cancel_batch(self, batch_id: str) -> bool:
        """Stop one batch: the running one at its next safe point, a queued one at once."""
        with self.lock:
            if self._current is not None and self._current.id == batch_id:
                self._stop_current.set()
                return True
            for item in list(self._queue):
                if item[0].id == batch_id:
                    self._queue.remove(item)
                    self._finished.append(_all_cancelled(*item))
                    self.total -= len(item[1])
                    return True
        return False

    def detail(self) -> IngestProgress:
        return IngestProgress(self._current, self._file, eta_seconds(self._file),
                              tuple(b for b, _ in self._queue), tuple(self._finished),
                              self._stop_current.is_set() and self._current is not None)

    # ---------------------------------------------------------------- the thread
    def _watch(self, progress: FileProgress) -> None:
        with self.lock:
            self._file = progress
            self.done = self._files_before + progress.first - 1

    def _next(self) -> tuple[Batch, list[tuple[str, bytes]]] | None:
        with self.lock:
            if self._stop_all.is_set():
                self._finished.extend(_all_cancelled(*item) for item in self._queue)
                self._queue.clear()
            if not self._queue:
                self._accepting, self._current, self._file = False, None, None
                return None
            batch, files = self._queue.popleft()
            self._current, self._file = batch, None
            self._stop_current = threading.Event()
            self._files_before = self.done
            return batch, files

    def _run(self) -> None:
        while (item := self._next()) is not None:
            batch, files = item
            hooks = IngestHooks(should_stop=lambda stop=self._stop_current: (
                stop.is_set() or self._stop_all.is_set()), watch=self._watch)
            try:
                kwargs = {k: v for k, v in (("max_bytes", self.max_bytes),
                                            ("max_chunks", self.max_chunks)) if v is not None}
                outcome = BatchOutcome(batch, tuple(self.store.ingest(files, hooks=hooks, **kwargs)))
            except RagLabError as err:
                outcome = BatchOutcome(batch, (), err.reason)
            except Exception:  # noqa: BLE001 (a thread must report, never die silently)
                log.exception("ingesting %s failed", batch.label)
                outcome = BatchOutcome(batch, (), GENERIC_REASON)
            with self.lock:
                self._finished.append(outcome)
                self.done = self._files_before + len(files)
        with self.lock:
            errors = [o.error for o in self._finished if o.error]
        if self._stop_all.is_set():
            self.end("cancelled")
        elif errors and len(errors) == len(self._finished):
            self.end("failed", errors[-1])
        else:
            self.end("done")


def submit(store: Any, files: Sequence[tuple[str, bytes]], owner: str = "", label: str = "",
           max_bytes: int | None = None, max_chunks: int | None = None) -> tuple[IngestJob, Batch]:
    """Index `files` in the background: a new job, or queued behind the running one.

    Returns the job doing the work and this upload's batch (its id cancels it).
    """
    job = IngestJob(store, files, owner, label, max_bytes, max_chunks)
    return jobs.start(job), job.batch


def _all_cancelled(batch: Batch, files: Sequence[tuple[str, bytes]]) -> BatchOutcome:
    return BatchOutcome(batch, tuple(cancelled(name) for name, _ in files))


def outcome_line(outcome: BatchOutcome) -> str:
    """One line: counts, and for a cancelled batch which files stayed and which were left out."""
    counts = (f"{outcome.count('ingested')} ingested · {outcome.count('duplicate')} duplicate · "
              f"{outcome.count('refused')} refused")
    if outcome.error:
        return f"Not indexed: {outcome.error}"
    if not outcome.cancelled:
        return counts
    kept = [r.name for r in outcome.results if r.status == "ingested"]
    left = [r.name for r in outcome.results if r.status == "cancelled"]
    line = f"Cancelled: {_names(kept) or 'nothing'} stayed in the index; {_names(left)} not added"
    return line if len(left) == len(outcome.results) else f"{line} · {counts}"


def _names(names: Sequence[str], shown: int = 3) -> str:
    """'a, b, c and 4 more'."""
    head = ", ".join(names[:shown])
    return f"{head} and {len(names) - shown} more" if len(names) > shown else head
