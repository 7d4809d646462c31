"""The real MiniLM embedder (onnxruntime) and the OpenAI embedder against a local HTTP server."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from lib.config import Settings
from lib.retrieval.embeddings import MiniLMEmbedder, OpenAIEmbedder, get_embedder
from lib.retrieval.fuse_attention import fuse_attention
from lib.retrieval.quantize import (
    RECIPES,
    build_quantized_model,
    fold_dequantize,
    quantized_model_path,
    shipped_model_path,
)
from lib.types import ProviderError

TEXTS = [
    "The Orbit Metal card costs £15 a month and includes travel insurance.",
    "Easy-access savings: Orbit Saver pays interest monthly. Rates can change.",
    "Release notes: the Open Banking API v2.3.1 fixes a pagination bug.",
    "Short.",
    "Payments use ISO-20022 messages. " * 40,  # longer than 256 tokens: truncated
]


# ---------------------------------------------------------------------- MiniLM


def test_default_embedder_shape_and_unit_rows(embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_paraphrase_is_closer_than_unrelated_text(embedder) -> None:
    a, b, c = embedder.embed([
        "How much does it cost to send money abroad?",
        "What is the fee for an international transfer?",
        "The cat slept on the warm windowsill all afternoon.",
    ])
    assert float(a @ b) > float(a @ c) + 0.3


def test_batch_equals_single_and_order_is_preserved(embedder) -> None:
    batch = embedder.embed(TEXTS)
    singles = np.stack([embedder.embed_query(t) for t in TEXTS])
    assert np.min(np.sum(batch * singles, axis=1)) > 0.9999
    reversed_batch = embedder.embed(TEXTS[::-1])
    assert np.min(np.sum(batch * reversed_batch[::-1], axis=1)) > 0.9999


def test_progress_reaches_total(embedder) -> None:
    calls: list[tuple[int, int]] = []
    embedder.embed(TEXTS * 3, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (15, 15)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_concurrent_callers_get_the_same_vectors(embedder) -> None:
    expected = embedder.embed(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: embedder.embed(TEXTS), range(4)))
    for got in results:
        assert np.min(np.sum(got * expected, axis=1)) > 0.9999


def test_concurrent_runs_match_one_run_at_a_time(embedder) -> None:
    """A chunk alone, in a batch, or beside another concurrent call gets the same vector,
    and the concurrent path equals the older one-two-thread-run-at-a-time path."""
    assert embedder.workers >= 1
    serial = MiniLMEmbedder(model_path=embedder.model_path, threads=2, workers=1)
    many = TEXTS * 4
    expected = serial.embed(many)
    alone = np.stack([serial.embed_query(t) for t in TEXTS])
    two = MiniLMEmbedder(model_path=embedder.model_path, workers=2)
    with ThreadPoolExecutor(2) as pool:
        beside = list(pool.map(lambda _: two.embed(many), range(2)))
    for got in [embedder.embed(many), *beside]:
        assert np.min(np.sum(got * expected, axis=1)) > 0.9999
    assert np.min(np.sum(np.tile(alone, (4, 1)) * expected, axis=1)) > 0.9999


def test_progress_runs_in_the_calling_thread_and_can_stop_the_workers(embedder) -> None:
    class Stop(Exception):
        pass

    caller, seen = threading.get_ident(), []

    def progress(done: int, total: int) -> None:
        seen.append(threading.get_ident())
        if done >= 3:
            raise Stop

    two = MiniLMEmbedder(model_path=embedder.model_path, workers=2)
    before = threading.active_count()
    with pytest.raises(Stop):
        two.embed(TEXTS * 20, progress=progress)
    assert set(seen) == {caller} and len(seen) >= 3
    assert threading.active_count() == before  # the workers were joined, none left running


def test_shipped_variant_agrees_with_the_quantised_default(embedder) -> None:
    shipped = MiniLMEmbedder(variant="int8-shipped")
    assert shipped.name != embedder.name  # an index remembers which one built it
    batch = shipped.embed(TEXTS)
    assert np.min(np.sum(batch * embedder.embed(TEXTS), axis=1)) > 0.98
    # the shipped file is batch-invariant even at batch size 32
    alone = np.stack([shipped.embed_query(t) for t in TEXTS])
    assert np.min(np.sum(batch * alone, axis=1)) > 0.9999


@pytest.mark.slow
def test_quantised_models_build_reproducibly_into_a_cache_dir(tmp_path: Path) -> None:
    for variant in RECIPES:
        path = build_quantized_model(tmp_path, variant=variant)
        assert path == quantized_model_path(tmp_path, variant) and path.stat().st_size > 10_000_000
        again = build_quantized_model(tmp_path, variant=variant)
        assert again.stat().st_mtime == path.stat().st_mtime  # cached
        shared = MiniLMEmbedder(variant=variant)  # built by `make` into the project cache
        fresh = MiniLMEmbedder(variant=variant, model_path=path)
        assert np.min(np.sum(fresh.embed(TEXTS) * shared.embed(TEXTS), axis=1)) > 0.9999
    assert not list(tmp_path.glob(".build-*"))  # no temp leftovers
    assert len(list(tmp_path.glob("*.onnx"))) == len(RECIPES)


def test_default_file_runs_fused_attention_and_stays_close_to_int8pc(embedder) -> None:
    import onnx

    ops = {n.op_type for n in onnx.load(str(embedder.model_path), load_external_data=False).graph.node}
    assert "MultiHeadAttention" in ops and "Softmax" not in ops
    plain = MiniLMEmbedder(variant="int8pc")
    assert plain.name != embedder.name  # vectors moved: old indexes get the re-index prompt
    assert np.min(np.sum(plain.embed(TEXTS) * embedder.embed(TEXTS), axis=1)) > 0.99


def test_an_index_built_by_int8pc_asks_for_a_reindex_with_the_new_default(tmp_path, embedder):
    from lib.index.store import Store
    from lib.types import EmbedderMismatchError

    old = Store(tmp_path / "data", MiniLMEmbedder(variant="int8pc"))
    old.ingest([("card.txt", TEXTS[0].encode())])
    old.close()
    with pytest.raises(EmbedderMismatchError, match="re-index"):
        Store(tmp_path / "data", embedder)
    Store.rebuild(tmp_path / "data", embedder).close()  # what the Documents page's button runs
    store = Store(tmp_path / "data", embedder)
    assert store.n_chunks == 1
    store.close()


@pytest.mark.slow
def test_fused_attention_matches_the_exported_graph_in_fp32(tmp_path: Path) -> None:
    """The rewrite alone (before int8) changes nothing: alone and in a padded batch."""
    folded, fused = tmp_path / "folded.onnx", tmp_path / "fused.onnx"
    fold_dequantize(shipped_model_path(), folded)
    assert fuse_attention(folded, fused) == 6
    ref = MiniLMEmbedder(model_path=folded, batch_size=8).embed(TEXTS)
    batched = MiniLMEmbedder(model_path=fused, batch_size=8)
    alone = np.stack([batched.embed_query(t) for t in TEXTS])
    for got in (batched.embed(TEXTS), alone):
        assert np.min(np.sum(got * ref, axis=1)) > 0.99999


def test_unknown_variant_and_spec_are_refused() -> None:
    with pytest.raises(ValueError, match="int8pc"):
        MiniLMEmbedder(variant="fp64")
    with pytest.raises(ValueError, match="openai:<model>"):
        get_embedder(Settings(embedder="word2vec"))


def test_get_embedder_is_cached_per_spec(embedder) -> None:
    assert get_embedder(Settings()) is embedder
    shipped = get_embedder(Settings(embedder="minilm:int8-shipped"))
    assert shipped.name == "minilm-l6-v2@int8-shipped"


# ---------------------------------------------------------------------- OpenAI (local fake)


def fake_vector(text: str, dim: int) -> list[float]:
    """A deterministic, text-dependent vector (not normalised: the client must normalise)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).standard_normal(dim) * 3).tolist()


class EmbeddingServer:
    """A real HTTP server on 127.0.0.1 speaking POST /v1/embeddings (OpenAI's shape)."""

    def __init__(self, api_key: str = "sk-test", dim: int = 8):
        self.api_key, self.dim = api_key, dim
        self.requests: list[dict] = []
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided",
                                                      "type": "invalid_request_error",
                                                      "code": "invalid_api_key"}})
                if server.status != 200:
                    return self._send(server.status, {"error": {"message": "nope", "type": "x"}})
                data = [{"object": "embedding", "index": i, "embedding": fake_vector(t, server.dim)}
                        for i, t in enumerate(body["input"])]
                data.reverse()  # out of order on purpose: the client must sort by index
                self._send(200, {"object": "list", "data": data, "model": body["model"],
                                 "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _send(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> EmbeddingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with EmbeddingServer() as srv:
        yield srv


def test_openai_embedder_batches_normalises_and_keeps_order(server) -> None:
    emb = OpenAIEmbedder("my-embed", "sk-test", server.url, batch_size=2)
    texts = ["alpha", "beta", "", "delta", "epsilon"]
    progress: list[tuple[int, int]] = []
    vectors = emb.embed(texts, progress=lambda d, t: progress.append((d, t)))
    assert vectors.shape == (5, 8) and emb.dim == 8 and emb.name == "openai:my-embed"
    assert len(server.requests) == 3 and progress[-1] == (5, 5)
    assert server.requests[1]["input"] == [" ", "delta"]  # empty text sent as a space
    expected = np.array(fake_vector("beta", 8))
    assert np.allclose(vectors[1], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(emb.embed_query("alpha"), vectors[0], atol=1e-6)


def test_openai_embedder_probes_the_dimension_of_unknown_models(server) -> None:
    assert OpenAIEmbedder("my-embed", "sk-test", server.url).dim == 8
    assert OpenAIEmbedder("text-embedding-3-small", "sk-test", server.url).dim == 1536
    assert len(server.requests) == 1  # the known model needed no request


def test_openai_errors_are_one_line_and_never_show_the_key(server) -> None:
    secret = "sk-wrong-secret-123"
    with pytest.raises(ProviderError) as info:
        OpenAIEmbedder("my-embed", secret, server.url).embed(["x"])
    assert "401" in info.value.reason and "\n" not in info.value.reason
    assert secret not in info.value.reason
    assert secret not in repr(OpenAIEmbedder("m", secret, server.url))
    server.status = 404
    with pytest.raises(ProviderError, match="404"):
        OpenAIEmbedder("my-embed", "sk-test", server.url).embed(["x"])


def test_unreachable_server_is_a_provider_error() -> None:
    with EmbeddingServer() as srv:
        url = srv.url
    with pytest.raises(ProviderError, match="Cannot reach"):
        OpenAIEmbedder("my-embed", "sk-test", url, timeout=2).embed(["x"])


def test_get_embedder_builds_openai_and_compatible(server) -> None:
    settings = Settings(embedder="openai:my-embed", openai_api_key="sk-test",
                        openai_base_url=server.url)
    emb = get_embedder(settings)
    assert emb is get_embedder(settings) and emb.name == "openai:my-embed"
    assert emb.embed(["hello"]).shape == (1, 8)
    compat = get_embedder(Settings(embedder="compatible:my-embed", compatible_base_url=server.url,
                                   compatible_api_key="sk-test"))
    assert compat.name == "compatible:my-embed" and compat.embed(["hi"]).shape == (1, 8)
