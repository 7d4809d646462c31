"""The background-job runner: one job of a kind per data dir, typed snapshots, wait/cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lib import jobs
from lib.jobs import Job, JobSnapshot
from lib.types import RagLabError


class Counting(Job[list[int]]):
    """Counts to `total` in a thread, one step each time `tick` is set; stops on cancel."""

    kind = "test-count"
    busy = "A count is already running."

    def __init__(self, data_dir: Path, total: int = 3, fail_launch: bool = False):
        super().__init__(data_dir, "Count", total, state="running")
        self.tick, self.stop, self.seen = threading.Event(), threading.Event(), []
        self.fail_launch = fail_launch

    def launch(self) -> None:
        if self.fail_launch:
            raise RagLabError("cannot launch")
        threading.Thread(target=self._run, daemon=True).start()

    def cancel(self) -> None:
        self.stop.set()
        self.tick.set()

    def detail(self) -> list[int]:
        return list(self.seen)

    def _run(self) -> None:
        while self.done < self.total:
            self.tick.wait(10)
            self.tick.clear()
            if self.stop.is_set():
                self.end("cancelled")
                return
            with self.lock:
                self.done += 1
                self.seen.append(self.done)
        self.end("done")


class Other(Counting):
    kind = "test-other"


def step(job: Counting, n: int = 1) -> None:
    for _ in range(n):
        before = job.done
        job.tick.set()
        while job.done == before and job.running:
            time.sleep(0.005)


def test_one_running_job_of_a_kind_per_data_dir(tmp_path: Path):
    job = jobs.start(Counting(tmp_path))
    assert jobs.current(Counting, tmp_path) is job
    assert jobs.current(Counting, tmp_path / "." / "x" / "..") is job  # same folder, other spelling
    with pytest.raises(RagLabError, match="A count is already running"):
        jobs.start(Counting(tmp_path))
    other = jobs.start(Other(tmp_path))  # another kind runs beside it
    elsewhere = jobs.start(Counting(tmp_path / "b"))  # so does the same kind elsewhere
    assert jobs.current(Other, tmp_path) is other and jobs.current(Counting, tmp_path) is job
    step(job, 3)
    assert job.wait(timeout=10) == "done"
    again = jobs.start(Counting(tmp_path))  # the finished one is replaced
    assert jobs.current(Counting, tmp_path) is again
    for j in (other, elsewhere, again):
        j.cancel()
        assert j.wait(timeout=10) == "cancelled"


def test_the_snapshot_is_typed_and_consistent(tmp_path: Path):
    job = jobs.start(Counting(tmp_path, total=4))
    step(job, 1)
    snap = job.snapshot()
    assert isinstance(snap, JobSnapshot)
    assert (snap.kind, snap.label, snap.state, snap.done, snap.total) == (
        "test-count", "Count", "running", 1, 4)
    assert snap.running and snap.fraction == 0.25 and snap.detail == [1] and snap.error == ""
    step(job, 1)
    assert snap.detail == [1]  # a copy: later progress does not change it
    job.cancel()
    assert job.wait(timeout=10) == "cancelled"
    final = job.snapshot()
    assert not final.running and final.done == 2 and final.elapsed >= snap.elapsed


def test_wait_times_out_and_end_is_recorded_once(tmp_path: Path):
    job = jobs.start(Counting(tmp_path))
    with pytest.raises(TimeoutError):
        job.wait(timeout=0.05)
    job.end("failed", "boom")
    job.end("done")  # the job's own late end does not overwrite the first
    assert job.wait(timeout=1) == "failed" and job.snapshot().error == "boom"
    job.cancel()


def test_a_job_that_cannot_launch_is_not_registered(tmp_path: Path):
    with pytest.raises(RagLabError, match="cannot launch"):
        jobs.start(Counting(tmp_path, fail_launch=True))
    assert jobs.current(Counting, tmp_path) is None
    assert jobs.current(Other, tmp_path) is None


class Queueing(Counting):
    """A kind that queues: a second start adds its steps to the running job."""

    kind = "test-queue"
    queues = True

    def __init__(self, data_dir: Path, total: int = 2):
        super().__init__(data_dir, total)
        self.closing = False

    def absorb(self, other) -> bool:
        with self.lock:
            if self.closing:
                return False
            self.total += other.total
            return True


def test_a_kind_that_queues_hands_a_second_start_to_the_running_job(tmp_path: Path):
    job = jobs.start(Queueing(tmp_path))
    assert jobs.start(Queueing(tmp_path, total=3)) is job and job.total == 5
    job.closing = True  # took its last work: a new start launches a job of its own
    newer = jobs.start(Queueing(tmp_path))
    assert newer is not job and jobs.current(Queueing, tmp_path) is newer
    for j in (job, newer):
        j.cancel()
        assert j.wait(timeout=10) == "cancelled"
