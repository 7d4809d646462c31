"""One runner for background jobs (LoRA training, Compare batch runs): start, cancel, wait.

A job runs in a thread or subprocess of the app's server process and is shared by every
session: the registry holds the latest job of each kind per data dir, so a page that
reloads finds the running job again. One job of a kind at a time per data dir: the
machine has 2 cores and the local model server answers one request at a time. A kind that
`queues` (ingestion) hands a second start to the running job instead of refusing it.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from lib.types import RagLabError

FINAL = ("done", "failed", "cancelled")  # every other state means the job is still running

D = TypeVar("D")
J = TypeVar("J", bound="Job[Any]")


@dataclass(frozen=True)
class JobSnapshot(Generic[D]):
    """A consistent copy of a job's progress; `detail` is what this kind of job reports."""

    kind: str
    label: str
    state: str
    done: int  # steps or questions finished
    total: int
    elapsed: float  # seconds
    error: str
    detail: D

    @property
    def running(self) -> bool:
        return self.state not in FINAL

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / max(self.total, 1))


class Job(ABC, Generic[D]):
    """A background job: subclasses launch the work and update state under `lock`."""

    kind: ClassVar[str]
    busy: ClassVar[str]  # the user's one line when another job of this kind is running
    queues: ClassVar[bool] = False  # True: `start` offers a new job to the running one (absorb)

    def __init__(self, data_dir: Path, label: str, total: int, state: str = "starting"):
        self.data_dir, self.label = Path(data_dir), label
        self.state, self.done, self.total, self.error = state, 0, total, ""
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.finished: float | None = None
        self._ended = threading.Event()

    @abstractmethod
    def launch(self) -> None:
        """Start the work and return at once."""

    @abstractmethod
    def cancel(self) -> None:
        """Ask the work to stop; what happens to its partial result is the job's business."""

    def absorb(self, other: Job[Any]) -> bool:
        """Take over `other`'s work (queued behind ours); False if this job no longer can."""
        return False

    @abstractmethod
    def detail(self) -> D:
        """This kind's part of the snapshot (called with `lock` held)."""

    @property
    def running(self) -> bool:
        return self.state not in FINAL

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def snapshot(self) -> JobSnapshot[D]:
        with self.lock:
            return JobSnapshot(self.kind, self.label, self.state, self.done, self.total,
                               self.elapsed, self.error, self.detail())

    def end(self, state: str, error: str = "") -> None:
        """Record the final state (once; a later call is ignored) and wake `wait`ers."""
        with self.lock:
            if self.finished is not None:
                return
            self.state, self.finished = state, time.monotonic()
            self.error = error or self.error
        self._ended.set()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the job ends (tests, scripts); returns the final state."""
        if not self._ended.wait(timeout):
            raise TimeoutError(f"the {self.kind} job did not finish in time")
        return self.state


_JOBS: dict[tuple[str, str], Job[Any]] = {}
_LOCK = threading.Lock()


def _key(kind: str, data_dir: Path) -> tuple[str, str]:
    return kind, str(Path(data_dir).resolve())


def start(job: J) -> J:
    """Launch `job` and make it the current one of its kind, unless one is still running.

    For a kind that `queues`, the running job absorbs `job` and is returned instead; one that
    is already closing (it took its last piece of work) declines, and `job` launches.
    """
    key = _key(job.kind, job.data_dir)
    with _LOCK:
        current = _JOBS.get(key)
        if current is not None and current.running:
            if not job.queues:
                raise RagLabError(job.busy)
            if current.absorb(job):
                return current  # type: ignore[return-value]  (same kind: same class)
        job.launch()
        _JOBS[key] = job
        return job


def current(kind: type[J], data_dir: Path) -> J | None:
    """The latest job of this kind for this data dir (running or finished), or None."""
    with _LOCK:
        job = _JOBS.get(_key(kind.kind, data_dir))
    return job if isinstance(job, kind) else None
