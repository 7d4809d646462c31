"""The transport under every ChatModel: generation knobs, 429 retries, the streamed answer.

429s are retried here with exponential backoff (honouring Retry-After); quota errors are
not. `ChatStream` turns the `openai` stream into text deltas plus timings and usage, and
enforces the answer's deadline: no model call can keep a spinner going for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import openai

from lib.generation.errors import is_quota
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
    # The whole answer's deadline: each read waits at most this long (httpx read timeout)
    # and the stream is stopped between chunks once it has passed, so a server that
    # trickles tokens cannot hold a chat for ever. Worst case: a little under 2x this.
    timeout_s: float = 120.0
    # A blackholed host (a firewall that drops packets) would otherwise hang the full
    # timeout_s before saying it is unreachable; a TCP connect to a live host takes ms.
    connect_timeout_s: float = 10.0
    stop: tuple[str, ...] = ()
    # Assistant prefill (llama.cpp continues a trailing assistant message); the stream
    # then yields only the continuation, so the prefix is yielded first, here.
    prefix: str = ""
    grammar: str = ""  # llama.cpp GBNF constraining the output (local server only)


def http_timeout(options: ChatOptions) -> openai.Timeout:
    """The client's per-request timeouts for `options` (connect is short, see ChatOptions)."""
    return openai.Timeout(options.timeout_s, connect=min(options.connect_timeout_s,
                                                        options.timeout_s))


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
            if is_quota(exc) or attempt == MAX_ATTEMPTS - 1:
                raise
            sleep(_retry_after(exc, attempt))
    raise AssertionError("unreachable")


def _timings(started: float, first: float | None, usage: Any, extra: Mapping[str, Any],
             finish_reason: str) -> Timings:
    """Prefer the server's own figures (llama.cpp `timings`), else the client clock."""
    end = time.perf_counter()
    prompt = int(getattr(usage, "prompt_tokens", 0) or extra.get("prompt_n", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or extra.get("predicted_n", 0) or 0)
    ttft = (first or end) - started
    gen_s = end - (first or end)
    tps = float(extra.get("predicted_per_second") or (completion / gen_s if gen_s > 0 else 0.0))
    return Timings(ttft_s=ttft, total_s=end - started, tokens_per_s=tps,
                   prompt_tokens=prompt, completion_tokens=completion,
                   finish_reason=finish_reason)


class ChatStream:
    """Iterate for text deltas (st.write_stream accepts it); then read text, timings, usage.

    `fail` maps an exception raised mid-stream to its one line; `where` names the host
    for the cut-off message; past `started + deadline_s` the stream is stopped.
    """

    def __init__(self, raw: Any, started: float, fail: Callable[[Exception], ProviderError],
                 where: str, prefix: str = "", deadline_s: float = ChatOptions.timeout_s):
        self._raw, self._fail, self._where, self._prefix = raw, fail, where, prefix
        self.started = started
        self.deadline_s = deadline_s
        self.text = ""
        self.timings = Timings()
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        for delta in self._deltas():
            self.text += delta
            yield delta

    def _deltas(self) -> Iterator[str]:
        """Yield text deltas; record finish reason, usage and server timings at the end."""
        first: float | None = None
        usage: Any = None
        extra: Mapping[str, Any] = {}
        if self._prefix:
            yield self._prefix
        try:
            for chunk in self._raw:
                usage = chunk.usage or usage
                extra = (chunk.model_extra or {}).get("timings") or extra
                for choice in chunk.choices:
                    self.finish_reason = choice.finish_reason or self.finish_reason
                    if choice.delta and choice.delta.content:
                        first = first or time.perf_counter()
                        yield choice.delta.content
                if time.perf_counter() - self.started > self.deadline_s:
                    raise ProviderError(
                        f"{self._where} took longer than {self.deadline_s:.0f} s to answer, "
                        f"so it was stopped: ask a shorter question or try again.")
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc) from exc
        finally:
            self._raw.close()
        if self.finish_reason is None:  # the stream ended without saying why: it was cut
            raise ProviderError(f"The answer from {self._where} was cut off: try again.")
        self.timings = _timings(self.started, first, usage, extra, self.finish_reason)
