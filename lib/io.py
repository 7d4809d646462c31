"""Files on disk, written so a crash leaves the old file or the new one, never half of one.

Every module that persists something (index, catalog, chat, feedback, datasets, results,
model records, server info files) writes through these helpers.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes, sync: bool = True) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace: never half a file.

    `sync=False` skips the fsync (the caller syncs many files at once with `fsync_files`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, sync: bool = True) -> None:
    """UTF-8 text written atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), sync)


def atomic_write_json(path: Path, obj: Any, sync: bool = True, indent: int | None = None) -> None:
    """JSON (UTF-8; compact unless `indent`) written atomically."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators)
    atomic_write_text(path, text + ("\n" if indent is not None else ""), sync)


def fsync_files(paths: Iterable[Path]) -> None:
    """Flush files written with sync=False (one journal commit covers most of them)."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
