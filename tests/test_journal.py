"""Append-only saves of the chunk table and the BM25 index (lib.journal), and old data dirs.

Real files, the real KeywordIndex; the Store test opens a data dir in the pre-journal format
with the real embedder and embedded Chroma.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lib import journal
from lib.index.catalog import ChunkTableFile
from lib.index.store import Store
from lib.retrieval.keyword import KeywordIndex
from lib.retrieval.keyword_file import KeywordFile
from lib.types import Chunk
from tests.test_store import files


def chunk(n: int, text: str = "") -> Chunk:
    return Chunk(f"d{n // 10}:{n % 10}", f"d{n // 10}", f"doc{n // 10}.txt", None, None, 0, 9,
                 text or f"chunk number {n} about OB-{n}")


def table(ns) -> dict[str, Chunk]:
    return {c.id: c for c in map(chunk, ns)}


def test_small_saves_append_and_leave_the_base_alone(tmp_path: Path) -> None:
    path = tmp_path / "index" / "chunks.json"
    saver, chunks = ChunkTableFile(path), table(range(100))
    saver.save(chunks)  # most of the state changed: a base
    base = path.stat()
    for n in range(100, 110):
        chunks[chunk(n).id] = chunk(n)
        saver.save(chunks)
    del chunks[chunk(3).id]
    chunks[chunk(4).id] = chunk(4, "replaced text")
    saver.save(chunks)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (base.st_ino, base.st_mtime_ns)
    assert saver.journal.path.stat().st_size > 0
    assert ChunkTableFile(path).load() == chunks


def test_a_torn_last_line_is_cut_off_and_saving_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "chunks.json"
    saver, chunks = ChunkTableFile(path), table(range(50))
    saver.save(chunks)
    chunks[chunk(50).id] = chunk(50)
    saver.save(chunks)
    with open(saver.journal.path, "ab") as handle:  # a crash in the middle of an append
        handle.write(b'{"fields":["id"],"drop":[],"add":[["d9:9"')
    reopened = ChunkTableFile(path)
    assert reopened.load() == chunks
    chunks[chunk(51).id] = chunk(51)
    reopened.save(chunks)
    assert ChunkTableFile(path).load() == chunks


def test_a_journal_left_by_a_crash_after_a_rewrite_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "chunks.json"
    saver, chunks = ChunkTableFile(path), table(range(50))
    saver.save(chunks)
    chunks[chunk(50).id] = chunk(50, "old journal")
    saver.save(chunks)
    stale = saver.journal.path.read_bytes()
    fresh = table(range(50))
    ChunkTableFile(path).save(fresh)  # a new saver: its first save rewrites the base
    saver.journal.path.write_bytes(stale)  # as if the crash came before the journal's removal
    assert ChunkTableFile(path).load() == fresh
    assert not saver.journal.path.exists()


def test_a_full_journal_is_folded_into_the_base(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(journal, "COMPACT_MIN_BYTES", 2_000)
    path = tmp_path / "chunks.json"
    saver, chunks = ChunkTableFile(path), table(range(40))
    saver.save(chunks)
    rewrites = 0
    for n in range(40, 80):
        before = path.stat().st_ino
        chunks[chunk(n).id] = chunk(n)
        saver.save(chunks)
        rewrites += path.stat().st_ino != before
        assert saver.journal.size <= journal.compact_limit(path.stat().st_size)
    assert 0 < rewrites < 20
    assert ChunkTableFile(path).load() == chunks


def test_keyword_saves_append_and_load_scores_the_same(tmp_path: Path) -> None:
    path = tmp_path / "keyword.npz"
    index, saver = KeywordIndex(), KeywordFile(path)
    index.add([f"c{n}" for n in range(60)], [f"orbit saver account {n} OB-{n}" for n in range(60)])
    saver.save(index)
    base = path.stat().st_mtime_ns
    index.add(["new"], ["a steel debit card with airport lounge access"])
    index.remove(["c3", "c4"])
    index.add(["c5"], ["replaced: currencies and transfers"])
    saver.save(index)
    assert path.stat().st_mtime_ns == base and saver.journal.size > 0
    loaded = KeywordFile(path).load()
    assert loaded.ids() == index.ids()
    for query in ["lounge", "currencies", "OB-7", "orbit account"]:
        got, expected = loaded.search(query, 10), index.search(query, 10)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected])


def test_a_replaced_keyword_index_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "keyword.npz"
    saver, first = KeywordFile(path), KeywordIndex()
    first.add(["a", "b"], ["savings", "card"])
    saver.save(first)
    first.add(["c"], ["transfers"])
    saver.save(first)
    second = KeywordIndex()  # clear / re-index: a new vocabulary, so no journal entry fits
    second.add(["z"], ["mortgage"])
    saver.save(second)
    assert not saver.journal.path.exists()
    assert KeywordFile(path).load().ids() == {"z"}


@pytest.mark.slow
def test_a_data_dir_in_the_old_single_file_format_opens_and_migrates(isolated_data_dir: Path,
                                                                      embedder) -> None:
    store = Store(isolated_data_dir, embedder)
    store.ingest(files("savings", "card"))
    before = {c.id: c.text for c in store.chunks()}
    store.close()
    index = isolated_data_dir / "index"
    for log in index.glob("*.log"):  # the old format: one file each, no token, no journal
        log.unlink()
    raw = json.loads((index / "chunks.json").read_text())
    raw.pop("token")
    (index / "chunks.json").write_text(json.dumps(raw))
    keyword = KeywordIndex.load(index / "keyword.npz")
    keyword.save(index / "keyword.npz")  # token "": what the old save wrote, minus the key
    store = Store(isolated_data_dir, embedder)
    assert store.check_consistency() == []
    assert {c.id: c.text for c in store.chunks()} == before
    store.ingest(files("fx"))  # the first write migrates: new bases with tokens
    card = store.documents()[1].doc_id
    assert any(i.startswith(card) for i, _ in store.keyword_query("lounge", 3))
    assert "token" in json.loads((index / "chunks.json").read_text())
    store.ingest(files("api"))  # and later ones append
    assert (index / "chunks.json.log").is_file() and (index / "keyword.npz.log").is_file()
    expected = {c.id: c.text for c in store.chunks()}
    store.close()
    store = Store(isolated_data_dir, embedder)
    assert store.check_consistency() == []
    assert {c.id: c.text for c in store.chunks()} == expected
    assert store.keyword_query("pagination", 3)
    store.close()
