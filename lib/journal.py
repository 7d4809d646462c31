"""Append-only change journals beside a base file: a save costs what changed, not the whole file.

A journal (JSON lines) starts with a header line naming its base file's token; every later
line is one save's changes, fsynced before the save returns. Loading applies the lines to
the base. A full rewrite gives the base a new token and then removes the journal, so a crash
in between leaves a journal whose token no base has: it is stale, ignored and removed. A torn
last line (a crash mid-append) is cut off. Users: the chunk table (lib.index.catalog) and the
BM25 index (lib.retrieval.keyword_file).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# The base is rewritten once its journal would outgrow this share of it: loading then
# parses at most ~1.5x the data, and a rewrite happens only after that many appended bytes,
# so its cost per save stays proportional to the save.
COMPACT_RATIO = 0.5
COMPACT_MIN_BYTES = 1_000_000  # small indexes: a rewrite is cheap, but not on every save


def new_token() -> str:
    """A fresh base-file token."""
    return uuid.uuid4().hex


def delta(current: Mapping[str, Any], saved: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(keys added or whose value object changed, keys removed) from `saved` to `current`."""
    changed = [k for k, v in current.items() if saved.get(k) is not v]
    return changed, [k for k in saved if k not in current]


class Journal:
    """One base file's journal; `read` it once, then `append` or `restart` (after a rewrite)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._token: str | None = None
        self._size = 0  # the file's size as this process left it

    @property
    def size(self) -> int:
        return self._size

    def read(self, token: str | None) -> list[dict[str, Any]]:
        """The entries after the header if the journal belongs to `token`; drops stale or torn parts."""
        self._token, self._size = token, 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        good, header = 0, False
        while (end := data.find(b"\n", good)) >= 0:
            try:
                line = json.loads(data[good:end])
            except (UnicodeDecodeError, json.JSONDecodeError):
                break
            if not header:
                if not isinstance(line, dict) or line.get("base") != token or token is None:
                    break  # another base's journal (a crash after a rewrite)
                header = True
            elif isinstance(line, dict):
                entries.append(line)
            good = end + 1
        if not header:
            self.path.unlink(missing_ok=True)
            return []
        if good < len(data):
            os.truncate(self.path, good)  # the torn tail, so the next append starts a clean line
        self._size = good
        return entries

    def append(self, entry: dict[str, Any], limit: int) -> bool:
        """Add one entry (fsynced); False (nothing written) when the journal would pass `limit`
        bytes or is not as this process left it: the caller rewrites the base instead."""
        if self._token is None:
            return False
        try:
            on_disk = self.path.stat().st_size
        except FileNotFoundError:
            on_disk = 0
        if on_disk != self._size:  # another process wrote it (a shared cache dir)
            return False
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if on_disk == 0:
            line = json.dumps({"base": self._token}).encode("utf-8") + b"\n" + line
        if on_disk + len(line) > limit:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self._size = on_disk + len(line)
        return True

    def restart(self, token: str) -> None:
        """The base was rewritten with `token`: the old journal goes."""
        self.path.unlink(missing_ok=True)
        self._token, self._size = token, 0


def compact_limit(base_bytes: int) -> int:
    """How large a journal may grow before its base is rewritten."""
    return max(COMPACT_MIN_BYTES, int(COMPACT_RATIO * base_bytes))


class JournaledFile:
    """A base file and its journal; a subclass reads, diffs and writes its own state."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.journal = Journal(self.path.with_name(self.path.name + ".log"))
        self._base_bytes = 0

    def _entries(self, token: str | None) -> list[dict[str, Any]]:
        """The journal's entries for the base just read (token None: no base, or an old one)."""
        self._base_bytes = self.path.stat().st_size if self.path.is_file() else 0
        return self.journal.read(token)

    def _store(self, entry: dict[str, Any] | None, changed: int, total: int,
               write_base: Callable[[str], None]) -> None:
        """Append `entry`, or rewrite the base (`write_base(token)`, atomic) and drop the journal.

        Rewritten when there is no entry (the state was replaced), the change is most of the
        state (clear, re-index: appending would only slow loading down), the journal is
        full, or the base predates journals.
        """
        if (entry is None or 2 * changed > total
                or not self.journal.append(entry, compact_limit(self._base_bytes))):
            token = new_token()
            write_base(token)
            self.journal.restart(token)
            self._base_bytes = self.path.stat().st_size
