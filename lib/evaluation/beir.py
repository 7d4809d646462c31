"""Loader for the BEIR folder format (corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv).

BEIR files found in the wild are messy: numeric ids in one file and strings in
another, CRLF line ends, a BOM, documents with no text, queries nobody judged.
All of that is accepted; a folder that cannot be read raises DatasetError with
one line that says which file and line is wrong.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lib.types import RagLabError


class DatasetError(RagLabError):
    """A query set or BEIR folder cannot be used (missing file, bad line, nothing judged)."""


@dataclass(frozen=True)
class Document:
    """One corpus entry; `title` may be empty."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Dataset:
    """Corpus, queries and graded judgments of one split (qrels: query -> doc -> grade)."""

    name: str
    split: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def judged_query_ids(self) -> list[str]:
        """Queries that have text and at least one relevant (grade >= 1) judgment."""
        return [
            q
            for q, j in self.qrels.items()
            if q in self.queries and any(g >= 1 for g in j.values())
        ]


def _open_text(path: Path) -> io.TextIOBase:
    """Text handle for a plain or gzip file; utf-8-sig drops a BOM, newline=None folds CRLF."""
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline=None)
    return open(path, encoding="utf-8-sig", newline=None)


def _norm_id(value: object) -> str:
    """Ids compare as strings: 42, "42" and " 42 " are the same id (floats like 42.0 too)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a bad line is a DatasetError."""
    try:
        with _open_text(path) as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"{path.name} line {number} is not JSON ({exc.msg})"
                    ) from exc
                if not isinstance(obj, dict) or "_id" not in obj:
                    raise DatasetError(f'{path.name} line {number} has no "_id" field')
                yield number, obj
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc


def _text(value: object) -> str:
    return "" if value is None else str(value)


def load_corpus(path: Path) -> dict[str, Document]:
    """Documents by id from corpus.jsonl or corpus.jsonl.gz (empty text is kept)."""
    corpus: dict[str, Document] = {}
    for _, obj in _json_lines(path):
        doc_id = _norm_id(obj["_id"])
        corpus[doc_id] = Document(doc_id, _text(obj.get("title")), _text(obj.get("text")))
    if not corpus:
        raise DatasetError(f"{path.name} has no documents")
    return corpus


def load_queries(path: Path) -> dict[str, str]:
    """Query text by id from queries.jsonl."""
    queries = {_norm_id(obj["_id"]): _text(obj.get("text")).strip() for _, obj in _json_lines(path)}
    if not queries:
        raise DatasetError(f"{path.name} has no queries")
    return queries


def _split_row(line: str) -> list[str]:
    # Tabs first: in the app's own qrels the corpus ids are file names, which may hold spaces.
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


@dataclass(frozen=True)
class Judgment:
    """One qrels row: a graded (query, document) pair and the app's optional location column."""

    query_id: str
    doc_id: str
    grade: int  # 0 = judged not relevant
    location: str = ""  # 4th column of the app's own qrels: "; "-separated pages or headings


def read_judgments(path: Path) -> list[Judgment]:
    """Every row of a qrels TSV: `query-id corpus-id score [location] [extra columns ignored]`.

    The one qrels parser. The header line is optional; a score must be an integer.
    """
    try:
        lines = _open_text(path).read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        cols = _split_row(line)
        if not line.strip() or (number == 1 and cols[0].lower() in {"query-id", "query_id", "qid"}):
            continue
        if len(cols) < 3:
            raise DatasetError(f"{path.name} line {number}: expected query-id, corpus-id, score")
        try:
            grade = int(float(cols[2]))
        except ValueError as exc:
            raise DatasetError(
                f"{path.name} line {number}: score {cols[2]!r} is not a number"
            ) from exc
        location = cols[3] if len(cols) > 3 else ""
        rows.append(Judgment(_norm_id(cols[0]), _norm_id(cols[1]), grade, location))
    return rows


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Graded judgments from a qrels TSV: query id -> document id -> grade (see read_judgments)."""
    qrels: dict[str, dict[str, int]] = {}
    for row in read_judgments(path):
        qrels.setdefault(row.query_id, {})[row.doc_id] = row.grade
    return qrels


def _corpus_file(folder: Path, label: str | None = None) -> Path:
    for name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(
        f"{label or folder.name} is not a BEIR folder: no corpus.jsonl or corpus.jsonl.gz"
    )


def available_splits(folder: Path) -> list[str]:
    """Split names that have a qrels/<split>.tsv file."""
    qrels_dir = Path(folder) / "qrels"
    return (
        sorted(p.name[: -len(".tsv")] for p in qrels_dir.glob("*.tsv"))
        if qrels_dir.is_dir()
        else []
    )


def check_folder(folder: Path, split: str, label: str | None = None) -> None:
    """Raise DatasetError when `folder` lacks a file BEIR needs (cheap: reads no data)."""
    folder = Path(folder)
    label = label or folder.name or str(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    _corpus_file(folder, label)
    if not (folder / "queries.jsonl").is_file():
        raise DatasetError(f"{label} is not a BEIR folder: no queries.jsonl")
    if not (folder / "qrels" / f"{split}.tsv").is_file():
        found = ", ".join(available_splits(folder)) or "none"
        raise DatasetError(f"{label} has no qrels/{split}.tsv (splits found: {found})")


def load_beir(folder: Path, split: str = "test") -> Dataset:
    """Read one split of a BEIR folder; raises DatasetError with a one-line reason.

    Args:
        folder: the dataset folder (holding corpus, queries and qrels/).
        split: which qrels file to use (`test`, `dev`, `train`...).
    Returns:
        The dataset; `judged_query_ids()` are the queries to evaluate.
    """
    folder = Path(folder)
    check_folder(folder, split)
    data = Dataset(
        name=folder.resolve().name,
        split=split,
        corpus=load_corpus(_corpus_file(folder)),
        queries=load_queries(folder / "queries.jsonl"),
        qrels=load_qrels(folder / "qrels" / f"{split}.tsv"),
    )
    if not data.judged_query_ids():
        raise DatasetError(f"qrels/{split}.tsv judges none of the queries in queries.jsonl")
    return data
