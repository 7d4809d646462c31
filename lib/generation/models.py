"""Model specs and the registry: a model is data (label, provider, id, URL, key source, adapter).

"Local base" and "Local fine-tuned" are two specs of one local server (the second sends a
LoRA adapter's scale per request); "OpenAI" and "OpenAI-compatible" are specs whose key
comes from settings or the session. `make_client(spec, secrets)` builds the client for any.

User-trained models come from the one registry, `<data dir>/adapters/` read by
`lib.finetune.registry.user_models`: local LoRA adapters (`<name>.gguf`, optional
`<name>.json` with label and scale) and succeeded OpenAI jobs' `ft:` models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import openai

from lib.config import PROJECT_ROOT, Settings
from lib.finetune.registry import ModelRecord, adapter_record, user_dir, user_models
from lib.generation.errors import WHERE_KEYS_GO
from lib.types import ProviderError

Provider = Literal["local", "openai", "openai-compatible"]
SHIPPED_ADAPTERS_DIR = PROJECT_ROOT / "adapters"
SHIPPED_ADAPTER = SHIPPED_ADAPTERS_DIR / "orbit-style.gguf"
LOCAL_MODEL_ID = "SmolLM2-135M-Instruct"
LOCAL_BASE = "Local base"
LOCAL_FINE_TUNED = "Local fine-tuned"
OPENAI = "OpenAI"
COMPATIBLE = "OpenAI-compatible"
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ModelSpec:
    """A model the app can talk to. `base_url` is empty for local (the server decides it)."""

    label: str
    provider: Provider
    model: str
    base_url: str = ""
    key_source: str = "none"  # "none" | "openai" | "compatible": a key name in `secrets`
    adapter: str | None = None  # a LoRA GGUF path (local only)
    adapter_scale: float = 1.0

    @property
    def is_local(self) -> bool:
        return self.provider == "local"


@dataclass(frozen=True)
class ModelOption:
    """A registry entry: the spec, and why it cannot be used right now (empty = usable)."""

    spec: ModelSpec
    unavailable: str = ""

    @property
    def available(self) -> bool:
        return not self.unavailable


def secrets_from(settings: Settings, openai_key: str = "", compatible_key: str = "",
                 compatible_url: str = "", compatible_model: str = "") -> dict[str, str]:
    """Keys by source: what the session typed wins over env/secrets.toml. Never log this."""
    return {
        "openai": openai_key or settings.openai_api_key,
        "compatible": compatible_key or settings.compatible_api_key,
        "compatible_url": compatible_url or settings.compatible_base_url,
        "compatible_model": compatible_model or settings.compatible_model,
    }


def user_adapters(data_dir: Path | None) -> list[Path]:
    """Adapters trained in the app: `<data dir>/adapters/*.gguf`, by name."""
    return [user_dir(data_dir) / r.adapter for r in user_models(data_dir)  # type: ignore[arg-type]
            if r.kind == "lora"]


def adapter_paths(data_dir: Path | None) -> list[Path]:
    """Every adapter the local server should load: shipped first, then user-trained."""
    shipped = [SHIPPED_ADAPTER] if SHIPPED_ADAPTER.is_file() else []
    return [p.resolve() for p in shipped + user_adapters(data_dir)]


def _local(label: str, adapter: Path | None = None, scale: float = 1.0) -> ModelSpec:
    return ModelSpec(label, "local", LOCAL_MODEL_ID, adapter=str(adapter) if adapter else None,
                     adapter_scale=scale)


def _fine_tuned_openai(record: ModelRecord, settings: Settings,
                       secrets: Mapping[str, str]) -> ModelOption:
    """A succeeded OpenAI job's `ft:` model: an OpenAI spec, usable with the OpenAI key."""
    spec = ModelSpec(f"OpenAI: {record.label}", "openai", record.model_id,
                     settings.openai_base_url, key_source="openai")
    return ModelOption(spec, "" if secrets.get("openai") else "no OpenAI key")


def list_models(settings: Settings, secrets: Mapping[str, str] | None = None) -> list[ModelOption]:
    """Every model the app knows, usable or not (the UI greys out the unusable ones)."""
    secrets = secrets if secrets is not None else secrets_from(settings)
    options = [ModelOption(_local(LOCAL_BASE))]
    fine = _local(LOCAL_FINE_TUNED, SHIPPED_ADAPTER, adapter_record(SHIPPED_ADAPTER).scale)
    missing = "" if SHIPPED_ADAPTER.is_file() else "adapters/orbit-style.gguf is missing"
    options.append(ModelOption(fine, missing))
    records = user_models(settings.data_dir)
    folder = user_dir(settings.data_dir)
    for r in (r for r in records if r.kind == "lora"):
        options.append(ModelOption(_local(f"Local: {r.label}", (folder / r.adapter).resolve(),
                                          r.scale)))
    openai_spec = ModelSpec(OPENAI, "openai", settings.openai_model,
                            settings.openai_base_url, key_source="openai")
    options.append(ModelOption(openai_spec, "" if secrets.get("openai") else "no OpenAI key"))
    options += [_fine_tuned_openai(r, settings, secrets) for r in records if r.kind == "openai"]
    url, model = secrets.get("compatible_url", ""), secrets.get("compatible_model", "")
    compat = ModelSpec(COMPATIBLE, "openai-compatible", model or "default", url,
                       key_source="compatible")
    options.append(ModelOption(compat, "" if url else "no base URL set"))
    return options


def find_model(options: list[ModelOption], label: str) -> ModelSpec | None:
    """The usable spec with this label, or None."""
    return next((o.spec for o in options if o.spec.label == label and o.available), None)


def make_client(spec: ModelSpec, secrets: Mapping[str, str] | None = None,
                base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> openai.OpenAI:
    """The `openai.OpenAI` client for any spec (local needs `base_url` from the server).

    Retries are ours (lib.generation.client), so the client's own are off: an unreachable server must
    fail fast, and 429 backoff is visible and testable.
    """
    secrets = secrets or {}
    url = base_url or spec.base_url or None
    if spec.provider == "local":
        if not url:
            raise ProviderError("The local model server is not running.")
        key = "local"  # llama.cpp ignores it; the client insists on one
    elif spec.provider == "openai":
        key = secrets.get(spec.key_source, "")
        if not key:
            raise ProviderError(
                f"No OpenAI API key: add one in {WHERE_KEYS_GO} or set OPENAI_API_KEY.")
    else:
        if not url:
            raise ProviderError(
                f"No base URL for the OpenAI-compatible provider: set one in {WHERE_KEYS_GO}.")
        key = secrets.get(spec.key_source, "") or "none"  # Ollama & co. need no key
    return openai.OpenAI(api_key=key, base_url=api_base(url), timeout=timeout, max_retries=0)


def api_base(url: str | None) -> str | None:
    """Add /v1 to a bare host URL: people paste http://localhost:11434, the API is under /v1."""
    if not url:
        return None
    url = url.strip().rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url
