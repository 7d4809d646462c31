"""Two app instances in two processes write to one index on a real `chroma run` server at the
same time (issue 16 item 2): afterwards both see the same documents and chunks, both
indexes find them, the consistency check passes and nothing is half-written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lib.config import PROJECT_ROOT, ChromaServer
from lib.index.store import Store
from tests.test_store import doc

pytestmark = pytest.mark.slow  # two subprocesses, each loading Chroma and the embedder


def start(data_dir: Path, server: ChromaServer) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.shared_child", str(data_dir), str(server.port),
         server.collection], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assert read(proc) == "ready"
    return proc


def read(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"child ended: {proc.communicate(timeout=30)[1][-3000:]}")
    return line


def send(proc: subprocess.Popen[str], *lines: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(f"{line}\n" for line in lines))
    proc.stdin.flush()


def test_two_processes_writing_at_once_end_up_with_one_consistent_index(
        chroma_server: ChromaServer, tmp_path: Path, embedder) -> None:
    server = ChromaServer(chroma_server.host, chroma_server.port,
                          collection=f"shared-{uuid.uuid4().hex[:8]}")
    for topic in ("savings", "card", "fx", "api"):
        (tmp_path / f"{topic}.txt").write_bytes(doc(topic, 6))
    (tmp_path / "shared.txt").write_bytes(doc("savings", 4) + b" Shared by both instances.")
    seed = Store(tmp_path / "a", embedder, chroma_server=server)
    assert [r.status for r in seed.ingest([("savings.txt", doc("savings", 6)),
                                           ("card.txt", doc("card", 6))])] == ["ingested"] * 2
    seed.close()
    # A reuses the seed's data dir (and its local copy); B has a data dir of its own.
    a, b = start(tmp_path / "a", server), start(tmp_path / "b", server)
    try:
        send(a, f"ingest {tmp_path / 'fx.txt'} {tmp_path / 'shared.txt'}", "delete savings.txt")
        send(b, f"ingest {tmp_path / 'api.txt'} {tmp_path / 'shared.txt'}", "delete card.txt")
        send(a, "go")
        send(b, "go")  # both write at the same time from here
        runs = [json.loads(read(p)) for p in (a, b)]
        send(a, "report")
        send(b, "report")
        seen = [json.loads(read(p)) for p in (a, b)]
        send(a, "quit")
        send(b, "quit")
    finally:
        for proc in (a, b):
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    for run in runs:
        assert run["read_errors"] == []
        assert run["statuses"][0] == "ingested" and run["statuses"][-1] == "True"
        assert run["statuses"][1] in ("ingested", "duplicate")  # shared.txt: one of them wins
    expected = ["api.txt", "fx.txt", "shared.txt"]
    third = Store(tmp_path / "c", embedder, chroma_server=server)  # a fresh instance agrees
    try:
        assert seen[0] == seen[1]
        assert seen[0]["docs"] == expected and seen[0]["problems"] == []
        assert all(v == [True, True] for v in seen[0]["found"].values()), seen[0]["found"]
        assert sorted(c.id for c in third.chunks()) == seen[0]["chunks"]
        assert sorted(d.name for d in third.documents()) == expected
        assert len(seen[0]["chunks"]) == sum(d.chunks for d in third.documents())
        assert third.check_consistency() == [] and third._shared.pending() == {}
        assert third._chroma.ids() == set(seen[0]["chunks"])  # no leftovers on the server
    finally:
        third.close()
