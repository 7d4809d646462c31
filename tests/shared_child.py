"""Run by tests/test_two_instances.py: one app instance on a shared Chroma server index.

    python -m tests.shared_child DATA_DIR PORT COLLECTION

Prints "ready", then for each line on stdin: `ingest PATH...` and `delete NAME` (run
while a reader thread searches and resolves every hit), `go` (the queued writes), `report`
(one JSON line: what this instance sees), `quit`.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path


def report(store, topics: dict[str, str]) -> dict:
    """What this instance sees: documents, chunks, the check, and whether each doc is found."""
    store.refresh()
    names = {d.doc_id: d.name for d in store.documents()}
    found = {}
    for doc_id, name in names.items():
        text = topics[Path(name).stem]
        top_vector = store.vector_query(store.embedder.embed_query(text), 1)
        top_keyword = store.keyword_query(text, 1)
        found[name] = [bool(top_vector) and top_vector[0][0].startswith(doc_id),
                       bool(top_keyword) and top_keyword[0][0].startswith(doc_id)]
    return {"docs": sorted(names.values()), "chunks": sorted(c.id for c in store.chunks()),
            "problems": store.check_consistency(), "found": found}


def main(argv: list[str]) -> None:
    data_dir, port, collection = argv
    from lib.config import ChromaServer, load_settings
    from lib.index.store import Store
    from lib.retrieval.embeddings import get_embedder
    from tests.test_store import TOPICS

    topics = {**TOPICS, "shared": TOPICS["savings"]}
    embedder = get_embedder(load_settings(env={}))
    store = Store(Path(data_dir), embedder,
                  chroma_server=ChromaServer("127.0.0.1", int(port), collection=collection))
    print("ready", flush=True)
    queued: list[list[str]] = []
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd in ("ingest", "delete"):
            queued.append([cmd, *args])
        elif cmd == "go":
            print(json.dumps(run(store, queued)), flush=True)
            queued = []
        elif cmd == "report":
            print(json.dumps(report(store, topics)), flush=True)
        else:
            break
    store.close()


def run(store, queued: list[list[str]]) -> dict:
    """The queued writes, with a reader searching alongside: every hit must resolve."""
    errors: list[str] = []
    done = threading.Event()
    vector = store.embedder.embed_query("bank account card transfer")

    def read() -> None:
        while not done.is_set():
            try:
                for chunk_id, _ in store.vector_query(vector, 5) + store.keyword_query("orbit", 5):
                    try:
                        store.chunk(chunk_id)
                    except KeyError:  # fine only if its document was deleted meanwhile
                        if chunk_id.rsplit("-", 1)[0] in {d.doc_id for d in store.documents()}:
                            raise
            except Exception as exc:  # noqa: BLE001 - reported to the test
                errors.append(f"{type(exc).__name__}: {exc}")

    reader = threading.Thread(target=read)
    reader.start()
    statuses = []
    try:
        for cmd, *args in queued:
            if cmd == "ingest":
                files = [(Path(p).name, Path(p).read_bytes()) for p in args]
                statuses += [r.status for r in store.ingest(files)]
            else:
                ids = [d.doc_id for d in store.documents() if d.name == args[0]]
                statuses += [str(store.delete(i)) for i in ids]
    finally:
        done.set()
        reader.join()
    return {"statuses": statuses, "read_errors": errors[:3]}


if __name__ == "__main__":
    main(sys.argv[1:])
