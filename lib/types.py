"""Frozen types that cross module borders (see ARCHITECTURE in README)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

# Long work reports through one of these (the UI turns them into a progress bar):
Progress = Callable[[float, str], None]  # fraction done in 0..1, what is happening now
CountProgress = Callable[[int, int], None]  # items done, items in all (embedding batches)


class RagLabError(Exception):
    """An error the user may see: `reason` is one human line, never a traceback."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class DocumentError(RagLabError):
    """A file was refused (unsupported, empty, corrupt, encrypted, scanned, too big...)."""


class IndexMismatchError(RagLabError):
    """The index cannot do what was asked (e.g. a different embedder built it)."""


class EmbedderMismatchError(IndexMismatchError):
    """The index was built by another embedder: `Store.rebuild` re-embeds it."""


class ProviderError(RagLabError):
    """A model provider failed (401, 404, 429, unreachable, timeout, context too long)."""


@dataclass(frozen=True)
class Page:
    """A unit of parsed text: a PDF page, a Markdown section, or a whole text file.

    `number` is the 1-based PDF page (None for TXT/MD); `section` is the nearest
    heading (None when the format has none). Chunks never cross a Page.
    """

    number: int | None
    section: str | None
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    """A file turned into pages; `sha256` of the raw bytes identifies it."""

    name: str
    kind: Literal["pdf", "txt", "md"]
    sha256: str
    size: int
    pages: tuple[Page, ...]


def chunk_id(doc_id: str, position: int) -> str:
    """The stable id of a document's `position`-th chunk: `<doc_id>-<position:05d>`."""
    return f"{doc_id}-{position:05d}"


def doc_id_of(chunk: str) -> str:
    """The document id a chunk id belongs to (the inverse of `chunk_id`)."""
    return chunk.rsplit("-", 1)[0]


def chunk_id_prefix(doc_id: str) -> str:
    """What every chunk id of `doc_id` starts with."""
    return f"{doc_id}-"


@dataclass(frozen=True)
class Chunk:
    """A piece of a document that is embedded and indexed.

    `start`/`end` are character offsets into the text of its Page.
    `id` is stable (`chunk_id(doc_id, position)`), so re-ingesting is idempotent.
    """

    id: str
    doc_id: str
    doc_name: str
    page: int | None
    section: str | None
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """The one result type of every retriever (vector, keyword, hybrid, rerank)."""

    chunk: Chunk
    score: float
    rank: int  # 1-based
    method: str  # "vector" | "keyword" | "hybrid" | "rerank"


@dataclass(frozen=True)
class DocumentRecord:
    """A document in the registry."""

    doc_id: str
    name: str
    sha256: str
    kind: str
    pages: int
    chunks: int
    size: int
    ingested_at: str  # ISO 8601, UTC


IngestStatus = Literal["ingested", "duplicate", "refused", "cancelled"]


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one file in an upload batch."""

    name: str
    status: IngestStatus
    reason: str = ""
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class ChunkSettings:
    """Chunk size and overlap, in embedder (WordPiece) tokens."""

    size: int = 128
    overlap: int = 16

    def __post_init__(self) -> None:
        if self.size < 20:
            raise ValueError("chunk size must be at least 20 tokens")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError("overlap must be between 0 and half the chunk size")


@dataclass(frozen=True)
class Timings:
    """Per-answer figures shown under a chat reply."""

    retrieval_ms: float = 0.0
    ttft_s: float = 0.0
    total_s: float = 0.0
    tokens_per_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # why generation ended: "stop", or "length" when the token or context limit cut it
    finish_reason: str = ""


@dataclass(frozen=True)
class Figure:
    """One figure, date or ID of an answer, and the sources (1-based) that contain it."""

    text: str  # as the answer wrote it
    kind: str  # "money" | "percent" | "date" | "time" | "id" | "number"
    sources: tuple[int, ...] = ()  # every source holding it, cited or not
    supported: bool = False  # in a source the answer cites (all, when it cites none)
    # Set when the figure is there but from the wrong line: another line with a figure of
    # its kind matches the question better, or it is only an old value (generation.lines).
    better: str = ""

    @property
    def ok(self) -> bool:
        return self.supported and not self.better


@dataclass(frozen=True)
class Grounding:
    """The grounding check of one answer (lib.generation.grounding.check_grounding)."""

    figures: tuple[Figure, ...] = ()
    checked: tuple[int, ...] = ()  # the source numbers figures were looked for in
    action: str = ""  # what the post-check did: "" (nothing), "retried", "quoted"
    # Set when the question asks for a figure, the answer gives none and a source line
    # holds one (generation.lines.no_figure), or the answer misses the meaning of the code
    # it is asked about (generation.definitions): why, in one line.
    missing: str = ""
    # After "retried" or "quoted": what was wrong with the first answer, as one phrase
    # (generation.rag.repair_reason), for the page to say which check it failed.
    repaired: str = ""

    @property
    def unsupported(self) -> tuple[Figure, ...]:
        return tuple(f for f in self.figures if not f.supported)

    @property
    def flagged(self) -> tuple[Figure, ...]:
        """Figures not in a cited source, or from a line that does not answer the question."""
        return tuple(f for f in self.figures if not f.ok)

    @property
    def passed(self) -> bool:
        return not self.flagged and not self.missing


@dataclass(frozen=True)
class Answer:
    """A finished chat answer with its sources."""

    text: str
    citations: tuple[int, ...] = ()  # 1-based source numbers the answer cited
    sources: tuple[Hit, ...] = ()
    timings: Timings = field(default_factory=Timings)
    model_label: str = ""
    abstained: bool = False
    grounding: Grounding | None = None  # None: abstained, RAG off, or saved before the check
    # Words of the question no indexed document uses (lib.generation.unseen): a hint that
    # the sources, and so the answer, may be about something else.
    unseen: tuple[str, ...] = ()
