"""Optional reranking through any server speaking the common POST /v1/rerank API.

llama.cpp server (`--reranking`), vLLM, Jina- and Cohere-compatible servers all accept
{"model", "query", "documents": [...], "top_n"} and answer
{"results": [{"index": i, "relevance_score": s}, ...]}.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import replace

from lib.types import Hit, ProviderError

log = logging.getLogger(__name__)


def _endpoint(url: str) -> str:
    """Accept a base URL with or without /v1 or /v1/rerank."""
    base = url.strip().rstrip("/")
    if base.endswith("/v1/rerank"):
        return base
    if base.endswith("/v1"):
        return base + "/rerank"
    return base + "/v1/rerank"


class RerankClient:
    """Calls a /v1/rerank server; errors become ProviderError with a one-line reason."""

    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 30.0):
        if not url.strip():
            raise ProviderError("No reranker configured (set RAGLAB_RERANKER_URL).")
        self.url = _endpoint(url)
        self.model = model
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RerankClient(url={self.url!r}, model={self.model!r})"  # never the key

    def scores(
        self, query: str, documents: Sequence[str], top_n: int | None = None
    ) -> list[tuple[int, float]]:
        """(document index, relevance score) pairs, best first."""
        body: dict[str, object] = {
            "model": self.model,
            "query": query,
            "documents": list(documents),
        }
        if top_n is not None:
            body["top_n"] = top_n
        data = self._post(body)
        try:
            pairs = [(int(r["index"]), float(r["relevance_score"])) for r in data["results"]]
        except (KeyError, TypeError, ValueError):
            raise ProviderError("The reranker's answer was not in the /v1/rerank format.") from None
        if any(not 0 <= i < len(documents) for i, _ in pairs):
            raise ProviderError("The reranker returned a document index out of range.")
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs[:top_n] if top_n is not None else pairs

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int | None = None) -> list[Hit]:
        """Hits re-ordered by the reranker's relevance, method "rerank", ranks from 1."""
        if not hits:
            return []
        pairs = self.scores(query, [h.chunk.text for h in hits], top_n)
        seen: set[int] = set()
        out = []
        for index, score in pairs:
            if index not in seen:
                seen.add(index)
                out.append(replace(hits[index], score=score, rank=len(out) + 1, method="rerank"))
        return out

    def _post(self, body: dict[str, object]) -> dict:
        """POST JSON, parse JSON; every failure is one human line."""
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            self.url, json.dumps(body).encode("utf-8"), headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            log.warning("rerank request failed: HTTP %s", exc.code)
            raise ProviderError(_http_reason(exc.code)) from None
        except TimeoutError:
            raise ProviderError(f"The reranker did not answer within {self.timeout:g} s.") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ProviderError(
                    f"The reranker did not answer within {self.timeout:g} s."
                ) from None
            raise ProviderError(
                f"Cannot reach the reranker at {self.url}: is it running?"
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise ProviderError("The reranker's answer was not JSON.") from None


def _http_reason(status: int) -> str:
    """One line per HTTP failure the user can act on."""
    if status in (401, 403):
        return f"The reranker refused the request ({status}): check its API key."
    if status == 404:
        return "The reranker URL has no /v1/rerank endpoint (404): check RAGLAB_RERANKER_URL."
    if status == 429:
        return "The reranker is rate limiting (429): wait a moment."
    return f"The reranker failed with HTTP {status}."
