"""Run by tests/test_crash_safety.py in a subprocess: ingest or delete, SIGKILLed at a named point.

    python -m tests.crash_child DATA_DIR ingest|delete POINT[#N] FILE_OR_DOC_ID...

POINT names a step of the Store's write order; the process kills itself (SIGKILL, so no
cleanup runs) right after the N-th time (default 1) that step completes. `none` runs to
the end. Progress lines go to stdout, flushed, so the parent can kill from outside too.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def die_after(owner: Any, name: str, nth: int) -> None:
    """Wrap owner.name so the process is SIGKILLed when its nth call returns."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        result = original(*args, **kwargs)
        calls += 1
        if calls == nth:
            print(f"killed after {name} #{nth}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapped)


def main(argv: list[str]) -> None:
    data_dir, action, point, *args = argv
    from lib.config import load_settings
    from lib.index import chroma
    from lib.index import store as store_module
    from lib.ingest import pipeline
    from lib.retrieval.embeddings import get_embedder
    from lib.index.catalog import ChunkTableFile
    from lib.retrieval.keyword_file import KeywordFile

    one_each = pipeline.groups
    # One commit per document, so a kill can fall between two documents' commits.
    pipeline.groups = lambda ready, size=1: one_each(ready, 1)  # type: ignore[assignment]
    name, _, nth = point.partition("#")
    targets = {
        "chroma-added": (chroma.ChromaIndex, "add"),
        "chroma-deleted": (chroma.ChromaIndex, "delete"),
        "pages-saved": (store_module, "save_parsed"),
        "table-saved": (ChunkTableFile, "save"),
        "keyword-saved": (KeywordFile, "save"),
        "registry-saved": (store_module, "save_registry"),
    }
    embedder = get_embedder(load_settings(env={}))
    if name == "embedded":
        targets["embedded"] = (embedder, "embed")
    store = store_module.Store(Path(data_dir), embedder)  # opened before any hook is set
    if name != "none":
        die_after(*targets[name], int(nth or 1))
    print("ready", flush=True)
    if action == "ingest":
        files = [(Path(p).name, Path(p).read_bytes()) for p in args]
        results = store.ingest(files, progress=lambda f, label: print(f"{f:.2f} {label}", flush=True))
        print(" ".join(r.status for r in results), flush=True)
    else:
        for doc_id in args:
            store.delete(doc_id)
        print("deleted", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
