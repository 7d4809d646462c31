"""One settings object: environment variables, then .streamlit/secrets.toml, then defaults."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS_DIR = PROJECT_ROOT / "sample_docs"


@dataclass(frozen=True)
class ChromaServer:
    """Where a Chroma server listens; the token is excluded from repr so it never reaches a log."""

    host: str
    port: int = 8000
    ssl: bool = False
    token: str = field(default="", repr=False)
    # A collection name shared by several app instances (any data dir); empty = one per data dir.
    collection: str = ""

    @property
    def label(self) -> str:
        """`host:port`, for the UI (never the token)."""
        return f"{self.host}:{self.port}"

    def headers(self) -> dict[str, str]:
        """HTTP headers for the client: the token as `Authorization: Bearer`, if any."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class Settings:
    """App-wide settings. Secrets are excluded from repr so they never reach a log."""

    data_dir: Path = PROJECT_ROOT / "data"
    max_file_mb: float = 50.0  # also the uploader's limit (server.maxUploadSize: Makefile, config.toml)
    max_chunks_per_file: int = 20_000  # = lib.ingest.pipeline.DEFAULT_MAX_CHUNKS
    chunk_size: int = 128
    chunk_overlap: int = 16
    embedder: str = "minilm"  # "minilm" (offline default) or "openai:<model>"
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str = ""  # empty = api.openai.com
    openai_model: str = "gpt-4o-mini"
    compatible_base_url: str = ""  # Ollama, vLLM, LM Studio...
    compatible_api_key: str = field(default="", repr=False)
    compatible_model: str = ""
    reranker_url: str = ""  # any server speaking POST /v1/rerank
    reranker_model: str = ""
    chroma_host: str = ""  # empty = embedded Chroma in the data dir; set = a Chroma server
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_token: str = field(default="", repr=False)
    chroma_collection: str = ""  # set = instances with this name share one index on the server

    @property
    def chroma_server(self) -> ChromaServer | None:
        """The Chroma server to use, or None for the embedded one."""
        if not self.chroma_host:
            return None
        return ChromaServer(self.chroma_host, self.chroma_port, self.chroma_ssl, self.chroma_token,
                            self.chroma_collection)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def upload_limit_mb(self) -> int:
        """Whole megabytes for Streamlit's uploader (`server.maxUploadSize` takes an integer)."""
        return max(math.ceil(self.max_file_mb), 1)


# setting name -> environment variable
_ENV = {
    "data_dir": "RAGLAB_DATA_DIR",
    "max_file_mb": "RAGLAB_MAX_FILE_MB",
    "max_chunks_per_file": "RAGLAB_MAX_CHUNKS_PER_FILE",
    "chunk_size": "RAGLAB_CHUNK_SIZE",
    "chunk_overlap": "RAGLAB_CHUNK_OVERLAP",
    "embedder": "RAGLAB_EMBEDDER",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_model": "RAGLAB_OPENAI_MODEL",
    "compatible_base_url": "RAGLAB_COMPATIBLE_BASE_URL",
    "compatible_api_key": "RAGLAB_COMPATIBLE_API_KEY",
    "compatible_model": "RAGLAB_COMPATIBLE_MODEL",
    "reranker_url": "RAGLAB_RERANKER_URL",
    "reranker_model": "RAGLAB_RERANKER_MODEL",
    "chroma_host": "RAGLAB_CHROMA_HOST",
    "chroma_port": "RAGLAB_CHROMA_PORT",
    "chroma_ssl": "RAGLAB_CHROMA_SSL",
    "chroma_token": "RAGLAB_CHROMA_TOKEN",
    "chroma_collection": "RAGLAB_CHROMA_COLLECTION",
}


def _read_secrets(path: Path) -> dict[str, object]:
    """Flat keys from secrets.toml; both `OPENAI_API_KEY` and `openai_api_key` spellings work."""
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {str(k).lower(): v for k, v in raw.items() if not isinstance(v, dict)}


def load_settings(
    env: dict[str, str] | None = None, secrets_path: Path | None = None
) -> Settings:
    """Build Settings from env vars, then secrets.toml, then defaults."""
    env = dict(os.environ) if env is None else env
    secrets = _read_secrets(secrets_path or PROJECT_ROOT / ".streamlit" / "secrets.toml")
    defaults = Settings()
    values: dict[str, object] = {}
    for name, var in _ENV.items():
        raw = env.get(var)
        if raw is None or raw == "":
            raw = secrets.get(var.lower(), secrets.get(name))
        if raw is None or raw == "":
            continue
        default = getattr(defaults, name)
        if isinstance(default, Path):
            values[name] = Path(str(raw)).expanduser()
        elif isinstance(default, bool):
            values[name] = str(raw).lower() in {"1", "true", "yes"}
        elif isinstance(default, int):
            values[name] = int(raw)
        elif isinstance(default, float):
            values[name] = float(raw)
        else:
            values[name] = str(raw)
    return Settings(**values)  # type: ignore[arg-type]
