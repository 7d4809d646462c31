"""The one mapper from `openai` client exceptions to a one-line `ProviderError`.

Chat, fine-tuning jobs and remote embeddings all report provider failures through
`map_error`: 401 wrong key, 403, 404 unknown model, 429 rate limit or quota, unreachable,
timeout, context too long. The key itself is never part of a message.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import openai

from lib.types import ProviderError

# The sidebar expander where keys and URLs are typed (ui/model_switch.py shows this label):
# advice in messages names it, so the user finds the field.
PROVIDERS_PANEL = "⚙️ Providers"
WHERE_KEYS_GO = f"{PROVIDERS_PANEL} (sidebar)"


def host_of(url: str | None, fallback: str = "api.openai.com") -> str:
    """A short name of where a request went (`127.0.0.1:8080`), for messages."""
    url = str(url or "")
    return urlsplit(url).netloc or url or fallback


def body_message(exc: openai.APIStatusError) -> str:
    """The provider's own error text (OpenAI and llama.cpp both nest it under `error`)."""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")
        return str(err)
    return str(exc.message or "")


def is_quota(exc: openai.APIStatusError) -> bool:
    """A 429 that says the quota is used up (retrying will not help)."""
    return "quota" in (body_message(exc) + str(exc.code or "")).lower()


def _is_context_error(exc: openai.APIStatusError) -> bool:
    text = (body_message(exc) + " " + str(exc.code or "")).lower()
    return any(s in text for s in ("context_length", "context length", "context size",
                                   "exceed_context", "maximum context", "too many tokens"))


def map_error(exc: Exception, host: str, model: str = "", *, local: bool = False,
              mid_stream: bool = False) -> ProviderError:
    """One line per failure kind.

    Args:
        exc: what the `openai` client raised (a ProviderError passes through).
        host: where the request went, as the user knows it (`host_of(url)`).
        model: the model id the request named (for 403/404).
        local: the request went to the app's own local model server.
        mid_stream: the failure came after the first streamed token.
    Returns:
        The ProviderError to raise.
    """
    if isinstance(exc, ProviderError):
        return exc
    who = "The local model server" if local else host
    # openai 3.x wraps transport errors, mid-stream ones too: a read timeout is a server
    # gone silent, any other connection error a broken connection
    timed_out = isinstance(exc, openai.APITimeoutError)
    if mid_stream and timed_out:
        return ProviderError(f"{who} went silent while answering (timeout): ask again"
                             + (" (it is restarted if it hangs)." if local else "."))
    if mid_stream and not isinstance(exc, openai.APIStatusError):
        again = "ask again: it restarts by itself." if local else "ask again."
        return ProviderError(f"{who} stopped while answering (connection lost): {again}")
    # by name: the transport under openai (httpx or its fork httpx2) is the client's detail
    if timed_out and type(exc.__cause__).__name__ == "ConnectTimeout":
        return ProviderError(f"Cannot reach {host} (no connection within the time limit): "
                             "is the server running and the URL right?")
    if timed_out:
        return ProviderError(
            f"{who} did not answer in time (timeout): try again or pick another model.")
    if isinstance(exc, openai.APIConnectionError):
        if local:
            return ProviderError("The local model server is not answering (it may have "
                                 "stopped): ask again, it restarts by itself.")
        return ProviderError(f"Cannot reach {host}: is the server running and the URL right?")
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError(f"{host} rejected the API key (401): check the key in "
                             f"{WHERE_KEYS_GO}.")
    if isinstance(exc, openai.PermissionDeniedError):
        return ProviderError(
            f"{host} refused access (403): the key may lack access to '{model}'.")
    if isinstance(exc, openai.NotFoundError):
        return ProviderError(f"Unknown model '{model}' at {host} (404): check the model name.")
    if isinstance(exc, openai.RateLimitError):
        if is_quota(exc):
            return ProviderError(f"{host}: quota exceeded (429): check your plan and billing.")
        return ProviderError(f"{host} is rate limiting requests (429): wait a minute and retry.")
    if isinstance(exc, openai.APIStatusError):
        if _is_context_error(exc):
            return ProviderError("The prompt is too long for the model's context: "
                                 "lower k or shorten the question.")
        return ProviderError(f"{host} answered HTTP {exc.status_code}: {body_message(exc)[:160]}")
    if isinstance(exc, openai.APIError):
        return ProviderError(f"The connection to {host} broke: try again.")
    return ProviderError(f"{host} failed: {type(exc).__name__}")
