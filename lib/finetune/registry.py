"""Fine-tuned model records: one JSON per model, beside its adapter. The one registry of models.

Local LoRA: `<dir>/<name>.gguf` + `<dir>/<name>.json` (kind "lora"). OpenAI jobs:
`<data dir>/adapters/<name>.json` only (kind "openai", `model_id` = the `ft:` model).
`<dir>` is `<data dir>/adapters/` for models trained in the app and `adapters/` in the
repo for the shipped one. `user_models` is what lib.generation.models offers: every user
GGUF (its record, or one made from a bare `{"label", "scale"}` JSON or the file name) and
every OpenAI `ft:` record.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lib.config import PROJECT_ROOT
from lib.io import atomic_write_json

FORMAT = "raglab-model/1"
SHIPPED_DIR = PROJECT_ROOT / "adapters"
SHIPPED_NAME = "orbit-style"


@dataclass(frozen=True)
class ModelRecord:
    """What was trained, from what, and how it went."""

    name: str  # file stem: [a-z0-9-]
    label: str  # shown in the sidebar model switch
    kind: Literal["lora", "openai"] = "lora"
    base_model: str = "SmolLM2-135M-Instruct"
    adapter: str = ""  # GGUF file name beside the JSON (kind "lora")
    model_id: str = ""  # "ft:..." (kind "openai")
    job_id: str = ""
    dataset_hash: str = ""
    n_examples: int = 0
    steps: int = 0
    epochs: float = 0.0
    final_loss: float | None = None
    seed: int | None = None
    seconds: float = 0.0
    scale: float = 1.0  # the adapter scale the app uses for "fine-tuned"
    created_at: str = ""  # ISO 8601, UTC
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    def adapter_path(self, folder: Path) -> Path | None:
        """The GGUF adapter file, when this record has one."""
        return folder / self.adapter if self.adapter else None


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def slugify(text: str) -> str:
    """A safe file stem from a user-typed name ("My tone v2!" -> "my-tone-v2")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48] or "adapter"


def user_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "adapters"


def unique_name(data_dir: Path, wanted: str) -> str:
    """`wanted` slugified, with -2, -3... appended when taken (never overwrite a model)."""
    base = slugify(wanted)
    folder, name, n = user_dir(data_dir), base, 1
    while (folder / f"{name}.json").exists() or (folder / f"{name}.gguf").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def save_record(folder: Path, record: ModelRecord) -> Path:
    """Write `<folder>/<name>.json` atomically."""
    path = folder / f"{record.name}.json"
    atomic_write_json(path, asdict(record), indent=1)
    return path


def load_record(path: Path) -> ModelRecord | None:
    """A record from its JSON (None when unreadable or not ours); unknown keys ignored."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or "name" not in raw:
        return None
    known = {f.name for f in fields(ModelRecord)}
    try:
        return ModelRecord(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        return None


def list_records(
    data_dir: Path | None, include_shipped: bool = True
) -> list[tuple[Path, ModelRecord]]:
    """(folder, record) for every model: the shipped one first, then the user's by date."""
    found: list[tuple[Path, ModelRecord]] = []
    folders = ([SHIPPED_DIR] if include_shipped else []) + (
        [user_dir(data_dir)] if data_dir else []
    )
    for folder in folders:
        if not folder.is_dir():
            continue
        records = [(folder, r) for p in sorted(folder.glob("*.json")) if (r := load_record(p))]
        found += sorted(records, key=lambda fr: fr[1].created_at)
    return found


def shipped_record() -> ModelRecord | None:
    """The record of the adapter shipped in the repo (None if missing)."""
    return load_record(SHIPPED_DIR / f"{SHIPPED_NAME}.json")


def delete_record(data_dir: Path, name: str) -> None:
    """Remove a user model's JSON and adapter (never the shipped one)."""
    folder = user_dir(data_dir)
    for suffix in (".json", ".gguf"):
        (folder / f"{slugify(name)}{suffix}").unlink(missing_ok=True)


def _meta(path: Path) -> dict[str, Any]:
    """A JSON object from disk ({} when missing, unreadable or not an object)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _scale(value: object) -> float:
    """An adapter scale from metadata (1.0 when missing or not a number)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0


def adapter_record(gguf: Path) -> ModelRecord:
    """The record of a GGUF adapter: its JSON when it is one of ours, else one from its name.

    Hand-placed adapters may carry a bare `{"label", "scale"}` JSON (both optional).
    """
    meta = _meta(gguf.with_suffix(".json"))
    record = load_record(gguf.with_suffix(".json"))
    label = (record.label if record else "") or str(meta.get("label") or "") or gguf.stem
    scale = _scale(record.scale if record else meta.get("scale", 1.0))
    base = record or ModelRecord(name=gguf.stem, label=label)
    return replace(base, label=label, adapter=gguf.name, scale=scale, kind="lora")


def user_models(data_dir: Path | None) -> list[ModelRecord]:
    """Every model trained by the user, by file name: local adapters, then OpenAI `ft:` models."""
    folder = user_dir(data_dir) if data_dir is not None else None
    if folder is None or not folder.is_dir():
        return []
    local = [adapter_record(p) for p in sorted(folder.glob("*.gguf"))]
    remote = [r for p in sorted(folder.glob("*.json")) if (r := load_record(p))
              and r.kind == "openai" and r.model_id.startswith("ft:")]
    return local + remote
