"""The ingest pipeline's chunk limit: huge files refused before chunking/embedding, the rest ingest."""

from __future__ import annotations

import random

import pytest

from lib.config import Settings, load_settings
from lib.index.store import Store
from lib.ingest import pipeline
from lib.ingest.chunking import may_exceed, min_chunks_estimate, split_document
from lib.ingest.documents import parse_document
from lib.ingest.pipeline import DEFAULT_MAX_CHUNKS
from tests.test_store import PoisonedEmbedder, doc


def one_line(n_chars: int, seed: int = 15) -> bytes:
    """A single line of sentences, like the 20 MB file of issue 15 (smaller)."""
    rng = random.Random(seed)
    words = "orbit bank charges one fee of five pounds per month for each account holder".split()
    parts, size = [], 0
    while size < n_chars:
        s = " ".join(rng.choice(words) for _ in range(12)).capitalize() + "."
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts).encode()


class CountingEmbedder(PoisonedEmbedder):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        super().__init__(inner)
        self.texts = 0

    def embed(self, texts, progress=None):
        self.texts += len(texts)
        return super().embed(texts, progress)


def test_the_default_limit_is_the_settings_default_and_read_from_the_environment():
    assert Settings().max_chunks_per_file == DEFAULT_MAX_CHUNKS == 20_000
    assert load_settings(env={"RAGLAB_MAX_CHUNKS_PER_FILE": "500"}).max_chunks_per_file == 500


@pytest.mark.parametrize("n_chars", [3_000, 400_000])
def test_the_estimate_never_exceeds_the_real_chunk_count(n_chars):
    parsed = parse_document("line.txt", one_line(n_chars))
    settings = load_settings(env={})
    from lib.types import ChunkSettings

    chunking = ChunkSettings(settings.chunk_size, settings.chunk_overlap)
    estimate, real = min_chunks_estimate(parsed, chunking), len(split_document(parsed, chunking))
    assert 0.5 * real <= estimate <= real  # a lower bound, yet close enough to be useful


@pytest.mark.timeout(120)
def test_a_file_over_the_limit_is_refused_up_front_and_the_rest_of_the_batch_ingests(
    isolated_data_dir, embedder, monkeypatch
):
    counting = CountingEmbedder(embedder)
    store = Store(isolated_data_dir, counting)
    chunked: list[str] = []
    real_split = pipeline.split_document
    monkeypatch.setattr(pipeline, "split_document",
                        lambda d, s: chunked.append(d.name) or real_split(d, s))
    big = one_line(3_000_000)  # ~6,000 chunks: over a limit of 1,000
    results = store.ingest([("huge.txt", big), ("card.txt", doc("card")), ("fx.txt", doc("fx"))],
                           max_chunks=1_000)
    by_name = {r.name: r for r in results}
    assert by_name["huge.txt"].status == "refused"
    reason = by_name["huge.txt"].reason
    assert "\n" not in reason and reason.startswith("huge.txt: would make at least ")
    assert reason.endswith("chunks, limit 1,000: split the file or raise RAGLAB_MAX_CHUNKS_PER_FILE")
    shown = int(reason.split("at least ")[1].split(" chunks")[0].replace(",", ""))
    assert 1_000 < shown <= len(big) // 100  # the file's own number, not the limit
    assert chunked == ["card.txt", "fx.txt"]  # refused before chunking, so in seconds
    assert by_name["card.txt"].status == by_name["fx.txt"].status == "ingested"
    assert counting.texts == by_name["card.txt"].chunks + by_name["fx.txt"].chunks
    assert store.n_documents == 2 and not store.check_consistency()
    store.close()


def test_the_exact_count_is_checked_when_the_estimate_is_under_the_limit(isolated_data_dir, embedder):
    counting = CountingEmbedder(embedder)
    store = Store(isolated_data_dir, counting)
    data = one_line(20_000)
    parsed = parse_document("mid.txt", data)
    real = len(split_document(parsed, store.chunk_settings))
    estimate = min_chunks_estimate(parsed, store.chunk_settings)
    assert estimate < real  # overlap adds chunks the lower bound leaves out
    [result] = store.ingest([("mid.txt", data)], max_chunks=real - 1)
    assert result.status == "refused"
    assert result.reason == (f"mid.txt: would make {real:,} chunks, limit {real - 1:,}: "
                             "split the file or raise RAGLAB_MAX_CHUNKS_PER_FILE")
    assert counting.texts == 0 and store.n_documents == 0
    [result] = store.ingest([("mid.txt", data)], max_chunks=real)
    assert result.status == "ingested" and result.chunks == real
    store.close()


@pytest.mark.timeout(180)
def test_the_20_mb_one_line_file_of_issue_15_is_refused_in_seconds_at_the_default_limit(
        isolated_data_dir, embedder, monkeypatch):
    counting = CountingEmbedder(embedder)
    store = Store(isolated_data_dir, counting)
    block = one_line(100_000)
    big = b" ".join([block] * 200)  # 20 MB, one line, no newline anywhere
    assert len(big) > 20_000_000 and b"\n" not in big
    chunked: list[str] = []
    real_split = pipeline.split_document
    monkeypatch.setattr(pipeline, "split_document",
                        lambda d, s: chunked.append(d.name) or real_split(d, s))
    huge, card = store.ingest([("one_line.txt", big), ("card.txt", doc("card"))])
    assert huge.status == "refused" and "limit 20,000: split the file" in huge.reason
    assert chunked == ["card.txt"] and card.status == "ingested"
    assert counting.texts == card.chunks  # nothing of the big file was embedded
    store.close()


def test_the_estimate_is_skipped_only_where_it_cannot_refuse_or_costs_as_much_as_chunking():
    from lib.types import ChunkSettings

    chunking = ChunkSettings(128, 16)
    small = parse_document("small.txt", one_line(3_000))
    assert not may_exceed(small, 1)  # tokenized whole either way: the exact count decides
    big = parse_document("big.txt", one_line(400_000))
    assert may_exceed(big, DEFAULT_MAX_CHUNKS) and may_exceed(big, 1_000)
    # 100k characters, mostly blank lines: chunks <= non-space characters, so a limit above
    # them can never be reached
    sparse = parse_document("sparse.txt", b"\n\n".join([b"Fee."] * 20_000))
    non_space = len(sparse.pages[0].text.replace("\n", "").replace(" ", ""))
    assert not may_exceed(sparse, non_space) and may_exceed(sparse, non_space - 1)
    assert len(split_document(sparse, chunking)) <= non_space
