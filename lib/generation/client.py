"""Chat completions for any ModelSpec through the `openai` client: streaming, errors, timings.

Every provider error becomes a `ProviderError` with one line the user can act on
(401 wrong key, 404 unknown model, 429 rate limit after retries, unreachable, timeout,
context too long). 429s are retried here with exponential backoff (honouring Retry-After).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai

from lib.generation.local_server import LocalServer
from lib.generation.models import ModelSpec, adapter_paths, make_client
from lib.types import ProviderError, Timings

Message = Mapping[str, str]
MAX_ATTEMPTS = 4  # 1 try + 3 retries on 429
BACKOFF_S = 1.0  # doubled per retry; Retry-After wins when the server sends one
MAX_BACKOFF_S = 20.0


@dataclass(frozen=True)
class ChatOptions:
    """Generation knobs; temperature 0 because the small model drifts when sampling."""

    max_tokens: int = 320
    temperature: float = 0.0
    timeout_s: float = 120.0
    stop: tuple[str, ...] = ()
    # Assistant prefill (llama.cpp continues a trailing assistant message); the stream
    # then yields only the continuation, so the prefix is yielded first, here.
    prefix: str = ""
    grammar: str = ""  # llama.cpp GBNF constraining the output (local server only)


def _host(spec: ModelSpec, base_url: str | None) -> str:
    """A short name of where the request went, for messages."""
    url = base_url or spec.base_url
    if spec.provider == "openai" and not url:
        return "api.openai.com"
    return urlsplit(url).netloc or url or spec.label


def _body_message(exc: openai.APIStatusError) -> str:
    """The provider's own error text (OpenAI and llama.cpp both nest it under `error`)."""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")
        return str(err)
    return str(exc.message or "")


def _is_context_error(exc: openai.APIStatusError) -> bool:
    text = (_body_message(exc) + " " + str(exc.code or "")).lower()
    return any(s in text for s in ("context_length", "context length", "context size",
                                   "exceed_context", "maximum context", "too many tokens"))


def map_error(exc: Exception, spec: ModelSpec, base_url: str | None = None,
              mid_stream: bool = False) -> ProviderError:
    """One line per failure kind; the key itself is never part of a message."""
    host = _host(spec, base_url)
    if isinstance(exc, ProviderError):
        return exc
    if mid_stream and not isinstance(exc, openai.APIStatusError):
        who = "The local model server" if spec.is_local else host
        return ProviderError(f"{who} stopped while answering (connection lost): ask again.")
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            f"{host} did not answer in time (timeout): try again or pick another model.")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"Cannot reach {host}: is the server running and the URL right?")
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError(f"{host} rejected the API key (401): check the key in Settings.")
    if isinstance(exc, openai.PermissionDeniedError):
        return ProviderError(
            f"{host} refused access (403): the key may lack access to '{spec.model}'.")
    if isinstance(exc, openai.NotFoundError):
        return ProviderError(f"Unknown model '{spec.model}' at {host} (404): check the model name.")
    if isinstance(exc, openai.RateLimitError):
        if "quota" in (_body_message(exc) + str(exc.code or "")).lower():
            return ProviderError(f"{host}: quota exceeded (429): check your plan and billing.")
        return ProviderError(f"{host} is rate limiting requests (429): wait a minute and retry.")
    if isinstance(exc, openai.APIStatusError):
        if _is_context_error(exc):
            return ProviderError("The prompt is too long for the model's context: "
                                 "lower k or shorten the question.")
        return ProviderError(f"{host} answered HTTP {exc.status_code}: {_body_message(exc)[:160]}")
    if isinstance(exc, openai.APIError):
        return ProviderError(f"The connection to {host} broke: try again.")
    return ProviderError(f"{host} failed: {type(exc).__name__}")


def _retry_after(exc: openai.RateLimitError, attempt: int) -> float:
    """Seconds to wait before the next try: Retry-After if given, else exponential."""
    header = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        wait = float(header) if header is not None else BACKOFF_S * 2 ** attempt
    except ValueError:
        wait = BACKOFF_S * 2 ** attempt
    return min(max(wait, 0.0), MAX_BACKOFF_S)


def with_retries(call: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> Any:
    """Run `call`, retrying on 429 (not on quota errors) with backoff."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call()
        except openai.RateLimitError as exc:
            quota = "quota" in (_body_message(exc) + str(exc.code or "")).lower()
            if quota or attempt == MAX_ATTEMPTS - 1:
                raise
            sleep(_retry_after(exc, attempt))
    raise AssertionError("unreachable")


class ChatStream:
    """Iterate for text deltas (st.write_stream accepts it); then read text, timings, usage."""

    def __init__(self, deltas: Iterator[str], started: float):
        self._deltas = deltas
        self.started = started
        self.text = ""
        self.timings = Timings()
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        for delta in self._deltas:
            self.text += delta
            yield delta


def _timings(started: float, first: float | None, usage: Any, extra: Mapping[str, Any]) -> Timings:
    """Prefer the server's own figures (llama.cpp `timings`), else the client clock."""
    end = time.perf_counter()
    prompt = int(getattr(usage, "prompt_tokens", 0) or extra.get("prompt_n", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or extra.get("predicted_n", 0) or 0)
    ttft = (first or end) - started
    gen_s = end - (first or end)
    tps = float(extra.get("predicted_per_second") or (completion / gen_s if gen_s > 0 else 0.0))
    return Timings(ttft_s=ttft, total_s=end - started, tokens_per_s=tps,
                   prompt_tokens=prompt, completion_tokens=completion)


def _resolve(spec: ModelSpec, server: LocalServer | None,
             data_dir: Path | None) -> tuple[str | None, dict[str, Any]]:
    """Base URL and llama.cpp extras; starts (or restarts) the local server if needed."""
    if not spec.is_local:
        return None, {}
    url = ensure_local(spec, server, data_dir)
    assert server is not None
    return url, server.request_options(spec.adapter, spec.adapter_scale)


def needed_adapters(spec: ModelSpec, data_dir: Path | None) -> list[Path]:
    """Every known adapter (all are loaded at start, so switching never restarts)."""
    adapters = adapter_paths(data_dir)
    if spec.adapter and Path(spec.adapter).resolve() not in adapters:
        if not Path(spec.adapter).is_file():
            raise ProviderError(f"The adapter {Path(spec.adapter).name} is missing.")
        adapters.append(Path(spec.adapter).resolve())
    return adapters


def local_ready(spec: ModelSpec, server: LocalServer, data_dir: Path | None) -> bool:
    """True when the server runs with what `spec` needs (no start or restart pending)."""
    loaded = set(server.adapters)
    return server.is_healthy() and all(str(a) in loaded for a in needed_adapters(spec, data_dir))


def ensure_local(spec: ModelSpec, server: LocalServer | None, data_dir: Path | None) -> str:
    """Start (or reuse, or restart) the local server with every known adapter loaded."""
    if server is None:
        raise ProviderError("No local model server manager was given.")
    return server.ensure(needed_adapters(spec, data_dir))


def stream_chat(spec: ModelSpec, messages: Sequence[Message], *,
                secrets: Mapping[str, str] | None = None, server: LocalServer | None = None,
                data_dir: Path | None = None, options: ChatOptions = ChatOptions()) -> ChatStream:
    """Start a streamed chat completion; errors before the first token raise here.

    Errors while streaming raise ProviderError from the iteration. `data_dir` tells the
    local server which user-trained adapters to load.
    """
    base_url, extra = _resolve(spec, server, data_dir)
    if options.grammar and spec.is_local:
        extra = {**extra, "grammar": options.grammar}
    try:
        client = make_client(spec, secrets, base_url=base_url, timeout=options.timeout_s)
        started = time.perf_counter()
        msgs = [*messages, {"role": "assistant", "content": options.prefix}] \
            if options.prefix else list(messages)
        raw = with_retries(lambda: client.chat.completions.create(
            model=spec.model, messages=msgs, stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True}, max_tokens=options.max_tokens,
            temperature=options.temperature, stop=list(options.stop) or None,
            extra_body=extra or None))
    except Exception as exc:  # noqa: BLE001 (every failure becomes one line)
        raise map_error(exc, spec, base_url) from exc
    result = ChatStream(iter(()), started)
    result._deltas = _deltas(raw, result, spec, base_url, options.prefix)
    return result


def _deltas(raw: Any, result: ChatStream, spec: ModelSpec, base_url: str | None,
            prefix: str = "") -> Iterator[str]:
    """Yield text deltas; record finish reason, usage and server timings at the end."""
    first: float | None = None
    usage: Any = None
    extra: Mapping[str, Any] = {}
    if prefix:
        yield prefix
    try:
        for chunk in raw:
            usage = chunk.usage or usage
            extra = (chunk.model_extra or {}).get("timings") or extra
            for choice in chunk.choices:
                result.finish_reason = choice.finish_reason or result.finish_reason
                if choice.delta and choice.delta.content:
                    first = first or time.perf_counter()
                    yield choice.delta.content
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc, spec, base_url, mid_stream=True) from exc
    finally:
        raw.close()
    if result.finish_reason is None:  # the stream ended without saying why: it was cut
        raise ProviderError(f"The answer from {_host(spec, base_url)} was cut off: try again.")
    result.timings = _timings(result.started, first, usage, extra)


def complete(spec: ModelSpec, messages: Sequence[Message], **kwargs: Any) -> tuple[str, Timings]:
    """The whole answer at once (evaluation, comparison grid)."""
    stream = stream_chat(spec, messages, **kwargs)
    for _ in stream:
        pass
    return stream.text, stream.timings


def check_connection(spec: ModelSpec, *, secrets: Mapping[str, str] | None = None,
                    server: LocalServer | None = None, data_dir: Path | None = None) -> str:
    """Send a tiny request; return a one-line success message or raise ProviderError."""
    started = time.perf_counter()
    text, _ = complete(spec, [{"role": "user", "content": "Reply with OK."}], secrets=secrets,
                       server=server, data_dir=data_dir,
                       options=ChatOptions(max_tokens=5, timeout_s=20.0))
    ms = (time.perf_counter() - started) * 1000
    reply = text.strip()[:30]
    return f"Connected to {spec.label} ({spec.model}) in {ms:.0f} ms: it replied {reply!r}."
