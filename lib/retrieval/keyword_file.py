"""The BM25 index on disk: index/keyword.npz (base) + keyword.npz.log (journal, lib.journal)."""

from __future__ import annotations

from pathlib import Path

from lib.journal import JournaledFile
from lib.retrieval.keyword import KeywordIndex, KeywordState


class KeywordFile(JournaledFile):
    """A save appends the chunks' terms added and dropped since the last load or save.

    A different index object than the one last loaded or saved (the Store replaced it:
    clear, re-index, rebuild) is written whole, as is a base without a token (older files).
    """

    def __init__(self, path: Path):
        super().__init__(path)
        self._index: KeywordIndex | None = None
        self._state = KeywordState({}, 0)

    def load(self) -> KeywordIndex:
        """The saved index with its journal replayed (raises like KeywordIndex.load)."""
        self._index = None  # until it loaded whole: a failed load is then rewritten
        index, token = KeywordIndex.load_saved(self.path)
        for entry in self._entries(token):
            index.apply(entry)
        self._index, self._state = index, index.state()
        return index

    def save(self, index: KeywordIndex) -> None:
        """Append what changed (fsynced), or rewrite the base."""
        if index is self._index:
            entry, changed = index.changes(self._state)
            if not changed and not entry["terms"]:
                return
        else:
            entry, changed = None, len(index)
        self._store(entry, changed, len(index), lambda token: index.save(self.path, token))
        self._index, self._state = index, index.state()
