"""RerankClient against a real HTTP server on 127.0.0.1 that scores by word overlap."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.retrieval.fusion import FusionSettings
from lib.index.memory import MemoryIndex
from lib.retrieval.rerank import RerankClient
from lib.retrieval.search import search
from lib.types import Chunk, Hit, ProviderError


def overlap(query: str, doc: str) -> float:
    """Fraction of the query's words found in the document."""
    q, d = set(query.lower().split()), set(doc.lower().split())
    return len(q & d) / len(q) if q else 0.0


class RerankHandler(BaseHTTPRequestHandler):
    """POST /v1/rerank in the common format; `mode` on the server switches failure cases."""

    def do_POST(self) -> None:  # http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        mode = self.server.mode  # type: ignore[attr-defined]
        if self.path != "/v1/rerank":
            return self._send(404, {"error": "not found"})
        if mode == "401":
            return self._send(401, {"error": "bad key"})
        if mode == "garbage":
            return self._send(200, {"oops": True})
        if mode == "notjson":
            return self._send(200, None, raw=b"<html>hi</html>")
        results = [
            {"index": i, "relevance_score": overlap(body["query"], doc)}
            for i, doc in enumerate(body["documents"])
        ]
        results.sort(key=lambda r: -r["relevance_score"])
        self._send(200, {"results": results[: body.get("top_n") or len(results)]})

    def _send(self, status: int, payload: object, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), RerankHandler)
    srv.mode = "ok"  # type: ignore[attr-defined]
    srv.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def hit(cid: str, text: str, rank: int) -> Hit:
    return Hit(
        Chunk(cid, "d", "doc.md", None, None, 0, len(text), text), 1.0 / rank, rank, "hybrid"
    )


HITS = [
    hit("a", "savings rates can change", 1),
    hit("b", "the metal card fee", 2),
    hit("c", "metal card lounge", 3),
]


def test_rerank_orders_by_server_scores(server) -> None:
    client = RerankClient(url(server), model="bge-reranker", api_key="sk-test")
    out = client.rerank("metal card lounge", HITS, top_n=2)
    assert [h.chunk.id for h in out] == ["c", "b"]
    assert [h.rank for h in out] == [1, 2] and {h.method for h in out} == {"rerank"}
    assert out[0].score == pytest.approx(1.0) and out[1].score == pytest.approx(2 / 3)
    path, headers, body = server.requests[0]
    assert path == "/v1/rerank" and headers["Authorization"] == "Bearer sk-test"
    assert body == {
        "model": "bge-reranker",
        "query": "metal card lounge",
        "documents": [h.chunk.text for h in HITS],
        "top_n": 2,
    }


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/rerank"])
def test_url_forms(server, suffix) -> None:
    assert RerankClient(url(server) + suffix).rerank("savings", HITS)[0].chunk.id == "a"


def test_no_hits_makes_no_request(server) -> None:
    assert RerankClient(url(server)).rerank("x", []) == []
    assert server.requests == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("401", "refused the request (401)"),
        ("garbage", "not in the /v1/rerank format"),
        ("notjson", "not JSON"),
    ],
)
def test_server_failures_are_one_line(server, mode, reason) -> None:
    server.mode = mode
    with pytest.raises(ProviderError) as err:
        RerankClient(url(server), api_key="sk-secret").rerank("metal", HITS)
    assert reason in err.value.reason and "\n" not in err.value.reason
    assert "sk-secret" not in err.value.reason


def test_unreachable_and_unconfigured() -> None:
    with pytest.raises(ProviderError, match="Cannot reach the reranker"):
        RerankClient("http://127.0.0.1:9", timeout=2).rerank("metal", HITS)
    with pytest.raises(ProviderError, match="RAGLAB_RERANKER_URL"):
        RerankClient("  ")
    assert "sk-x" not in repr(RerankClient("http://127.0.0.1:9", api_key="sk-x"))


def test_search_with_a_reranker(server, embedder) -> None:
    texts = [
        "savings rates can change",
        "the metal card fee",
        "metal card lounge",
        "fx transfer fee",
        "business account overdraft",
    ]
    chunks = [Chunk(str(i), "d", "doc.md", None, None, 0, len(t), t) for i, t in enumerate(texts)]
    index = MemoryIndex(embedder, chunks)
    reranker = RerankClient(url(server))
    for method in ("vector", "keyword", "hybrid"):
        hits = search(index, "metal card lounge", method, 2, FusionSettings(depth=5), reranker)
        assert [h.chunk.id for h in hits] == ["2", "1"] and hits[0].method == "rerank"
    assert len(server.requests[-1][2]["documents"]) >= 2  # candidates went to the server
    assert search(index, "   ", "hybrid", 2, reranker=reranker) == []
