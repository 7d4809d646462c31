"""Local LoRA training as a background job: a subprocess, live progress, cancel, loss history.

The app never imports torch: `TrainJob` (a lib.jobs job) runs `python -m lib.finetune.train_local` and reads
one JSON event per stdout line. A separate process keeps 1.9 GB of training memory (and
any crash) out of the app, and lets the page stay responsive. SIGTERM asks the trainer
to stop after the current step; nothing is registered for a cancelled run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lib.config import PROJECT_ROOT
from lib.finetune.dataset import Example, dataset_hash, load_jsonl, save_jsonl
from lib.finetune.lora import CACHE_DIR, TrainConfig, require_training_stack
from lib.finetune.registry import ModelRecord, now_iso, save_record
from lib.jobs import Job
from lib.types import RagLabError


def run_training(
    examples: Sequence[Example],
    config: TrainConfig,
    out_dir: Path,
    name: str,
    label: str,
    progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    cache_dir: Path = CACHE_DIR,
) -> ModelRecord | None:
    """Train, export `<out_dir>/<name>.gguf`, write its record; None when cancelled."""
    from lib.finetune.gguf_export import export_peft_model
    from lib.finetune.lora import train_lora

    report = progress or (lambda _e: None)
    outcome = train_lora(examples, config, report, should_stop, cache_dir)
    if outcome.cancelled:
        return None
    report({"phase": "exporting"})
    gguf = export_peft_model(outcome.model, out_dir / f"{name}.gguf", name=name)
    losses = [loss for _, loss in outcome.losses]
    tail = losses[-min(5, len(losses)) :]  # one batch is noisy: report the last few steps
    record = ModelRecord(
        name=name,
        label=label,
        kind="lora",
        adapter=gguf.name,
        dataset_hash=dataset_hash(examples),
        n_examples=len(examples),
        steps=len(losses),
        epochs=round(len(losses) * config.batch_size / max(1, len(examples)), 2),
        final_loss=round(sum(tail) / len(tail), 4) if tail else None,
        seed=config.seed,
        seconds=round(outcome.seconds, 1),
        created_at=now_iso(),
        hyperparameters={
            **asdict(config),
            "targets": list(config.targets),
            "first_loss": round(losses[0], 4) if losses else None,
            "load_seconds": round(outcome.load_seconds, 1),
        },
    )
    save_record(out_dir, record)
    return record


@dataclass(frozen=True)
class TrainProgress:
    """A training run's part of its snapshot: the loss curve and, once done, the record."""

    losses: tuple[tuple[int, float], ...] = ()  # (step, loss)
    record: ModelRecord | None = None


class TrainJob(Job[TrainProgress]):
    """One training subprocess into `<data dir>/adapters/` and what it reported so far."""

    kind = "train-lora"
    busy = "A training run is already in progress: wait for it or cancel it."

    def __init__(self, data_dir: Path, examples: Sequence[Example], config: TrainConfig,
                 name: str, label: str, on_event: Callable[[dict[str, Any]], None] | None = None):
        super().__init__(data_dir, label, config.steps)
        self.config, self.name = config, name
        self.out_dir, self.work_dir = self.data_dir / "adapters", self.data_dir / "datasets"
        self.examples = list(examples)
        self.on_event = on_event
        self.losses: list[tuple[int, float]] = []
        self.record: ModelRecord | None = None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def log_path(self) -> Path:
        return self.work_dir / f".train-{self.name}.log"

    @property
    def dataset_path(self) -> Path:
        return self.work_dir / f".train-{self.name}.jsonl"

    def detail(self) -> TrainProgress:
        return TrainProgress(tuple(self.losses), self.record)

    def launch(self) -> None:
        """Write the dataset and spawn the trainer; returns at once."""
        require_training_stack()
        dataset = save_jsonl(self.dataset_path, self.examples)
        cmd = [
            sys.executable,
            "-m",
            "lib.finetune.train_local",
            "--dataset",
            str(dataset),
            "--out-dir",
            str(self.out_dir),
            "--name",
            self.name,
            "--label",
            self.label,
            "--config",
            json.dumps(asdict(self.config)),
            "--watch-pid",
            str(os.getpid()),
        ]
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TQDM_DISABLE": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TRANSFORMERS_VERBOSITY": "error",
        }
        # stderr to a file: a full pipe would block the trainer (warnings, tracebacks)
        with open(self.log_path, "w", encoding="utf-8") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
                start_new_session=True,
            )
        threading.Thread(target=self._read, daemon=True, name=f"train-{self.name}").start()

    def _read(self) -> None:
        """Follow the trainer's JSON events until it exits."""
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._apply(event)
        code = self._proc.wait()
        try:
            stderr = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            stderr = ""
        self.dataset_path.unlink(missing_ok=True)
        if self.running:  # exited without a final event
            self.end("failed", _last_line(stderr) or f"the trainer exited with code {code}")
        else:
            self.end(self.state)

    def _apply(self, event: dict[str, Any]) -> None:
        with self.lock:
            if "phase" in event:
                self.state = event["phase"]
            if "step" in event:
                self.done = int(event["step"])
                self.losses.append((self.done, float(event["loss"])))
            if event.get("phase") == "done" and event.get("record"):
                self.record = ModelRecord(**event["record"])
            if event.get("phase") == "failed":
                self.error = str(event.get("reason", "training failed"))
        if self.on_event:
            self.on_event(event)

    def cancel(self, grace: float = 20.0) -> None:
        """Ask the trainer to stop (it stops after the current step); kill after `grace`."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        threading.Thread(target=_kill_later, args=(proc, grace), daemon=True).start()


def _kill_later(proc: subprocess.Popen[str], grace: float) -> None:
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()


def _last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:300] if lines else ""


# --------------------------------------------------------------------------- subprocess


def _emit(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m lib.finetune.train_local --dataset F --out-dir D --name N ...` (JSON events)."""
    ap = argparse.ArgumentParser(description="Train a LoRA adapter; prints JSON events.")
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--config", default="{}", help="TrainConfig fields as JSON")
    ap.add_argument("--watch-pid", type=int, default=None, help="stop when this process exits")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    orphaned = lambda: args.watch_pid is not None and os.getppid() != args.watch_pid
    try:
        raw = json.loads(args.config)
        config = TrainConfig(**{**raw, "targets": tuple(raw.get("targets", TrainConfig.targets))})
        examples = load_jsonl(args.dataset)
        record = run_training(
            examples,
            config,
            args.out_dir,
            args.name,
            args.label or args.name,
            _emit,
            lambda: stop.is_set() or orphaned(),
        )
    except RagLabError as err:
        _emit({"phase": "failed", "reason": err.reason})
        return 1
    except Exception as exc:  # noqa: BLE001 (one line for the page; the trace goes to stderr)
        _emit({"phase": "failed", "reason": f"{exc.__class__.__name__}: {exc}"[:300]})
        raise
    if record is None:
        _emit({"phase": "cancelled"})
        return 0
    _emit({"phase": "done", "record": asdict(record)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
