"""OpenAI (or compatible) fine-tuning jobs: upload, create, poll status and events, cancel, list.

Uses the official `openai` client against `/v1/files` and `/v1/fine_tuning/jobs`. Every
failure becomes a ProviderError with one line (the key is never part of a message). A
succeeded job's `ft:` model is registered as a fine-tuned model record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai

from lib.finetune.dataset import Example, dataset_hash, to_jsonl
from lib.finetune.registry import (
    ModelRecord,
    load_record,
    now_iso,
    save_record,
    slugify,
    unique_name,
    user_dir,
)
from lib.generation.errors import WHERE_KEYS_GO, host_of, map_error
from lib.generation.models import api_base
from lib.types import ProviderError

TERMINAL = ("succeeded", "failed", "cancelled")
DEFAULT_BASE_MODEL = "gpt-4o-mini-2024-07-18"
T = TypeVar("T")


@dataclass(frozen=True)
class JobInfo:
    """The parts of a fine-tuning job the page shows."""

    id: str
    model: str
    status: str
    fine_tuned_model: str = ""
    created_at: int = 0
    finished_at: int = 0
    trained_tokens: int = 0
    n_epochs: str = ""
    error: str = ""
    training_file: str = ""

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class JobEvent:
    created_at: int
    level: str
    message: str


def ft_client(api_key: str, base_url: str = "", timeout: float = 30.0) -> openai.OpenAI:
    """A client for fine-tuning calls (raises ProviderError without a key)."""
    if not api_key:
        raise ProviderError(f"Fine-tuning on OpenAI needs an API key: add one in {WHERE_KEYS_GO}.")
    return openai.OpenAI(
        api_key=api_key, base_url=api_base(base_url), timeout=timeout, max_retries=1
    )


def _call(client: openai.OpenAI, fn: Callable[[], T], model: str = "fine-tuning") -> T:
    """Run one API call; every failure becomes one ProviderError line."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc, host_of(str(client.base_url)), model) from exc


def _job(raw: Any) -> JobInfo:
    """JobInfo from the client's FineTuningJob (both `hyperparameters` and `method` styles)."""
    epochs = getattr(getattr(raw, "hyperparameters", None), "n_epochs", "")
    method = getattr(raw, "method", None)
    supervised = getattr(method, "supervised", None) if method else None
    if supervised is not None and getattr(supervised, "hyperparameters", None) is not None:
        epochs = supervised.hyperparameters.n_epochs or epochs
    error = getattr(raw, "error", None)
    message = (getattr(error, "message", "") or "") if error else ""
    return JobInfo(
        id=raw.id,
        model=raw.model,
        status=raw.status,
        fine_tuned_model=raw.fine_tuned_model or "",
        created_at=raw.created_at or 0,
        finished_at=raw.finished_at or 0,
        trained_tokens=raw.trained_tokens or 0,
        n_epochs=str(epochs or ""),
        error=message,
        training_file=raw.training_file or "",
    )


def upload_training_file(
    client: openai.OpenAI, examples: Sequence[Example], filename: str = "train.jsonl"
) -> str:
    """Upload examples as a JSONL file with purpose fine-tune; returns the file id."""
    data = to_jsonl(examples).encode("utf-8")
    result = _call(client, lambda: client.files.create(file=(filename, data), purpose="fine-tune"))
    return result.id


def create_job(
    client: openai.OpenAI,
    training_file: str,
    model: str = DEFAULT_BASE_MODEL,
    epochs: int | None = None,
    suffix: str = "",
    validation_file: str = "",
) -> JobInfo:
    """Start a supervised fine-tuning job (epochs None = OpenAI's "auto")."""
    method: dict[str, Any] = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": epochs if epochs else "auto"}},
    }
    kwargs: dict[str, Any] = {"training_file": training_file, "model": model, "method": method}
    if suffix:
        kwargs["suffix"] = slugify(suffix)[:18]  # OpenAI allows up to 18 characters
    if validation_file:
        kwargs["validation_file"] = validation_file
    return _job(_call(client, lambda: client.fine_tuning.jobs.create(**kwargs), model))


def submit(
    client: openai.OpenAI,
    train: Sequence[Example],
    validation: Sequence[Example] = (),
    model: str = DEFAULT_BASE_MODEL,
    epochs: int | None = None,
    suffix: str = "",
) -> JobInfo:
    """Upload the training (and validation, if any) examples, then start the job."""
    train_id = upload_training_file(client, train, "train.jsonl")
    val_id = upload_training_file(client, validation, "validation.jsonl") if validation else ""
    return create_job(client, train_id, model, epochs, suffix, val_id)


def get_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    return _job(_call(client, lambda: client.fine_tuning.jobs.retrieve(job_id)))


def cancel_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    return _job(_call(client, lambda: client.fine_tuning.jobs.cancel(job_id)))


def list_jobs(client: openai.OpenAI, limit: int = 10) -> list[JobInfo]:
    """The most recent jobs, newest first."""
    page = _call(client, lambda: client.fine_tuning.jobs.list(limit=limit))
    return [_job(j) for j in page.data]


def job_events(client: openai.OpenAI, job_id: str, limit: int = 20) -> list[JobEvent]:
    """The job's latest events, oldest first (the API returns newest first)."""
    page = _call(client, lambda: client.fine_tuning.jobs.list_events(job_id, limit=limit))
    events = [JobEvent(e.created_at, e.level, e.message) for e in page.data]
    return sorted(events, key=lambda e: e.created_at)


def wait_for(
    client: openai.OpenAI,
    job_id: str,
    interval: float = 5.0,
    timeout: float = 3600.0,
    on_update: Callable[[JobInfo], None] | None = None,
) -> JobInfo:
    """Poll until the job ends (scripts and tests; the page polls with a fragment)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(client, job_id)
        if on_update:
            on_update(job)
        if job.done:
            return job
        if time.monotonic() > deadline:
            raise ProviderError(f"Job {job_id} was still {job.status} after {timeout:.0f} s.")
        time.sleep(interval)


def register_job(
    data_dir: Path, job: JobInfo, examples: Sequence[Example] = (), label: str = ""
) -> ModelRecord:
    """Record a succeeded job's `ft:` model so the model switch can offer it."""
    if job.status != "succeeded" or not job.fine_tuned_model:
        raise ProviderError(f"Job {job.id} has no fine-tuned model (status {job.status}).")
    for path in sorted(user_dir(data_dir).glob("*.json")):  # already registered: reuse
        existing = load_record(path)
        if existing and existing.model_id == job.fine_tuned_model:
            return existing
    parts = job.fine_tuned_model.split(":")  # ft:<base>:<org>:<suffix>:<id>
    name = unique_name(data_dir, label or (parts[3] if len(parts) > 4 else "") or "openai")
    record = ModelRecord(
        name=name,
        label=label or job.fine_tuned_model,
        kind="openai",
        base_model=job.model,
        model_id=job.fine_tuned_model,
        job_id=job.id,
        dataset_hash=dataset_hash(examples) if examples else "",
        n_examples=len(examples),
        epochs=float(job.n_epochs) if job.n_epochs.isdigit() else 0.0,
        created_at=now_iso(),
        hyperparameters={"trained_tokens": job.trained_tokens},
    )
    save_record(user_dir(data_dir), record)
    return record
