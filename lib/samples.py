"""The bundled sample documents (a fictional fintech, Orbit Bank) and their labelled queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.beir import load_qrels

SAMPLE_EXTENSIONS = {".pdf", ".txt", ".md", ".markdown"}


def sample_files(folder: Path = SAMPLE_DOCS_DIR) -> list[tuple[str, bytes]]:
    """(name, bytes) of every sample document: top-level files only, README excluded."""
    return [
        (p.name, p.read_bytes())
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in SAMPLE_EXTENSIONS and p.stem.upper() != "README"
    ]


@dataclass(frozen=True)
class LabelledQuery:
    """A sample query with its relevant documents (file name -> graded relevance)."""

    id: str
    text: str
    type: str
    showcase: bool
    relevant: dict[str, int]


def labelled_queries(folder: Path = SAMPLE_DOCS_DIR / "eval") -> list[LabelledQuery]:
    """Queries from queries.jsonl joined with qrels.tsv (relevant documents only)."""
    qrels_path = folder / "qrels.tsv"
    judged = load_qrels(qrels_path) if qrels_path.is_file() else {}
    qrels = {q: {d: g for d, g in docs.items() if g > 0} for q, docs in judged.items()}
    queries = []
    queries_path = folder / "queries.jsonl"
    if queries_path.is_file():
        for line in queries_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                qid = str(row["_id"])
                queries.append(
                    LabelledQuery(
                        id=qid,
                        text=row["text"],
                        type=row.get("type", ""),
                        showcase=bool(row.get("showcase", False)),
                        relevant=qrels.get(qid, {}),
                    )
                )
    return queries
