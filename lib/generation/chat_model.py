"""One model connection: a ModelSpec bound to its providers, called instead of fed.

A `ChatModel` is built once per use (a page run, a question, a batch) from a spec and the
current providers (keys and URLs by source, the LocalServer manager, the data dir whose
adapters the local server loads). It owns its `openai` client, its request extras
(adapter scales, llama.cpp cache policy, grammar) and its readiness: the local server is
health-checked once, then trusted until a request to it fails or it moves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openai

from lib.generation.client import ChatOptions, ChatStream, Message, http_timeout, with_retries
from lib.generation.errors import host_of, map_error
from lib.generation.local_server import LocalServer
from lib.generation.models import ModelSpec, adapter_paths, make_client
from lib.types import ProviderError, Timings

CHARS_PER_TOKEN = 4  # estimate for remote models, whose tokenizer we do not have
DEFAULTS = ChatOptions()


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about 4 characters per token for English."""
    return len(text) // CHARS_PER_TOKEN + 1


def needed_adapters(spec: ModelSpec, data_dir: Path | None) -> list[Path]:
    """Every known adapter (all are loaded at start, so switching never restarts)."""
    adapters = adapter_paths(data_dir)
    if spec.adapter and Path(spec.adapter).resolve() not in adapters:
        if not Path(spec.adapter).is_file():
            raise ProviderError(f"The adapter {Path(spec.adapter).name} is missing.")
        adapters.append(Path(spec.adapter).resolve())
    return adapters


class ChatModel:
    """A model the app talks to: stream, complete, count tokens, check, start if local."""

    def __init__(self, spec: ModelSpec, *, secrets: Mapping[str, str] | None = None,
                 server: LocalServer | None = None, data_dir: Path | None = None):
        self.spec = spec
        self._secrets = dict(secrets or {})
        self._server = server
        self._data_dir = data_dir
        self._url: str | None = None  # local: the server's URL once checked ready
        self._client: openai.OpenAI | None = None
        self._client_url: str | None = None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def host(self) -> str:
        """Where requests go, for messages."""
        if self.spec.is_local:
            return host_of(self._url, self.spec.label)
        fallback = "api.openai.com" if self.spec.provider == "openai" else self.spec.label
        return host_of(self.spec.base_url, fallback)

    # ---- readiness (local server)
    def _local(self) -> LocalServer:
        if self._server is None:
            raise ProviderError("No local model server manager was given.")
        return self._server

    def _checked(self) -> str | None:
        """The cached URL while the server has not moved (no request, no health check)."""
        if self._url is not None and self._server is not None \
                and self._server.base_url == self._url:
            return self._url
        return None

    def ready(self) -> bool:
        """True when no start or restart is pending (remote: always; local: one check)."""
        if not self.spec.is_local or self._checked():
            return True
        server = self._local()
        if server.ready(needed_adapters(self.spec, self._data_dir)):
            self._url = server.base_url
            return True
        return False

    def ensure(self) -> str | None:
        """Start (or reuse, or restart) the local server; its base URL (None for remote)."""
        if not self.spec.is_local:
            return None
        if url := self._checked():
            return url
        self._url = self._local().ensure(needed_adapters(self.spec, self._data_dir))
        return self._url

    def forget(self) -> None:
        """Drop the cached readiness: the next request checks the server again."""
        self._url = None

    # ---- requests
    def _openai(self, base_url: str | None) -> openai.OpenAI:
        """The client, built once per base URL (a restarted local server moves)."""
        if self._client is None or self._client_url != base_url:
            self._client = make_client(self.spec, self._secrets, base_url=base_url)
            self._client_url = base_url
        return self._client

    def _extras(self, options: ChatOptions) -> dict[str, Any]:
        """llama.cpp extras: every adapter's scale, the cache policy, the grammar."""
        if not self.spec.is_local:
            return {}
        extra = self._local().request_options(self.spec.adapter, self.spec.adapter_scale)
        return {**extra, "grammar": options.grammar} if options.grammar else extra

    def _fail(self, exc: Exception, mid_stream: bool = False) -> ProviderError:
        """One line for `exc`; a failed local request re-checks the server next time."""
        if self.spec.is_local and not isinstance(exc, ProviderError):
            self.forget()
        return map_error(exc, self.host, self.spec.model, local=self.spec.is_local,
                         mid_stream=mid_stream)

    def stream(self, messages: Sequence[Message],
               options: ChatOptions = DEFAULTS) -> ChatStream:
        """Start a streamed chat completion; errors before the first token raise here.

        Errors while streaming raise ProviderError from the iteration.
        """
        try:
            client = self._openai(self.ensure()).with_options(timeout=http_timeout(options))
            extra = self._extras(options)
            started = time.perf_counter()
            msgs = [*messages, {"role": "assistant", "content": options.prefix}] \
                if options.prefix else list(messages)
            raw = with_retries(lambda: client.chat.completions.create(
                model=self.spec.model, messages=msgs, stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True}, max_tokens=options.max_tokens,
                temperature=options.temperature, stop=list(options.stop) or None,
                extra_body=extra or None))
        except Exception as exc:  # noqa: BLE001 (every failure becomes one line)
            raise self._fail(exc) from exc
        return ChatStream(raw, started, lambda e: self._fail(e, mid_stream=True), self.host,
                          options.prefix, deadline_s=options.timeout_s)

    def complete(self, messages: Sequence[Message],
                 options: ChatOptions = DEFAULTS) -> tuple[str, Timings]:
        """The whole answer at once (evaluation, comparison grid)."""
        stream = self.stream(messages, options)
        for _ in stream:
            pass
        return stream.text, stream.timings

    def check_connection(self) -> str:
        """Send a tiny request; return a one-line success message or raise ProviderError."""
        started = time.perf_counter()
        text, _ = self.complete([{"role": "user", "content": "Reply with OK."}],
                                ChatOptions(max_tokens=5, timeout_s=20.0))
        ms = (time.perf_counter() - started) * 1000
        reply = text.strip()[:30]
        return f"Connected to {self.spec.label} ({self.spec.model}) in {ms:.0f} ms: " \
               f"it replied {reply!r}."

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: the local model's own tokenizer (POST /tokenize), else an estimate."""
        if not self.spec.is_local:
            return estimate_tokens(text)
        self.ensure()  # the tokenizer lives in the server
        return self._local().count_tokens(text)
