"""One upload batch through the store: parse -> duplicate check -> chunk -> embed -> commit.

Throughput: chunks of several documents are embedded in one call (the embedder sorts
them by length, so little padding), each group is committed on a worker thread while
the next one is embedded, and the keyword index / registry are saved once per batch.
Atomicity stays per document: a group whose embedding fails is retried document by
document, and a commit either lands whole or is rolled back. A background job (lib.ingest.job)
passes IngestHooks: a stop request is honoured between files and between embedding batches,
never inside a commit, so what was committed stays and the rest is left out whole.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from lib.ingest.chunking import doc_id_for, may_exceed, min_chunks_estimate, split_document
from lib.ingest.documents import display_name, parse_document
from lib.types import (
    Chunk,
    ChunkSettings,
    CountProgress,
    DocumentError,
    IngestResult,
    ParsedDocument,
    Progress,
    RagLabError,
)

log = logging.getLogger(__name__)


# Chunks embedded per call: big enough that length-sorting removes most padding and
# per-call overhead vanishes, small enough that progress and memory stay fine.
GROUP_CHUNKS = 512
READ_SHARE = 0.1  # progress bar share of parsing + chunking
EMBED_END = 0.97  # embedding fills READ_SHARE..EMBED_END; saving the rest
MAX_IN_FLIGHT = 2  # groups embedded but not yet committed
GENERIC_REASON = "could not be indexed because of an internal error (details in the log)"
# Chunks one file may make (Settings.max_chunks_per_file). Ingestion runs at ~25 chunks/s
# on the 2-core CPU (README, bench/ingest.py): 20,000 chunks is ~14 minutes; the 20 MB
# one-line file of issue 15 would make ~44,600 (half an hour).
DEFAULT_MAX_CHUNKS = 20_000
CANCELLED_REASON = "cancelled before it was indexed"


@dataclass(frozen=True)
class FileProgress:
    """Where a batch is: the file(s) being worked on (1-based positions) and chunks embedded."""

    phase: str  # "reading" | "embedding" | "saving" | "done"
    file: str  # the first file of the group being embedded (or the file being read)
    first: int
    last: int  # > first when several small files are embedded together
    n_files: int
    chunks_done: int = 0
    chunks_total: int = 0  # known once every file is read
    embed_seconds: float = 0.0  # since the first chunk went into the embedder
    # Characters embedded / in all: the work measure for an ETA. The embedder takes a
    # group's shortest chunks first, so chunk counts alone overstate the early rate.
    chars_done: int = 0
    chars_total: int = 0


@dataclass(frozen=True)
class IngestHooks:
    """A background ingest's controls: `should_stop` is polled at safe points; `watch` follows."""

    should_stop: Callable[[], bool] = field(default=lambda: False)
    watch: Callable[[FileProgress], None] | None = None


class Stopped(Exception):
    """Raised at a safe point when the hooks ask to stop (never escapes ingest_files)."""


@dataclass
class Prepared:
    """A parsed, chunked document waiting to be embedded."""

    position: int  # index in the upload batch
    doc: ParsedDocument
    chunks: list[Chunk]
    seconds: float

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.doc.sha256)


class Reporter:
    """Maps work done to a 0..1 fraction and a short label for the caller's progress bar."""

    def __init__(self, progress: Progress | None, n_files: int, hooks: IngestHooks | None = None):
        self.progress, self.n_files = progress, max(n_files, 1)
        self.hooks = hooks or IngestHooks()
        self.total_chunks = 0
        self.last = 0.0  # never move the bar backwards (a failed group is retried)
        self.embed_started: float | None = None
        self.chunks_done = self.chars_done = 0
        self.chars_before: list[int] = [0]  # characters of the batch's chunks before chunk i

    def __call__(self, fraction: float, label: str) -> None:
        self.last = min(max(fraction, self.last), 1.0)
        if self.progress is not None:
            self.progress(self.last, label)

    def tick(self, phase: str, file: str, first: int, last: int | None = None) -> None:
        """Tell the watcher where the batch is (positions 0-based here, 1-based in the record)."""
        if self.hooks.watch is None:
            return
        seconds = time.perf_counter() - self.embed_started if self.embed_started else 0.0
        self.hooks.watch(FileProgress(phase, file, first + 1, (first if last is None else last) + 1,
                                      self.n_files, self.chunks_done, self.total_chunks, seconds,
                                      self.chars_done, self.chars_before[-1]))

    def count(self, ready: Sequence[Prepared]) -> None:
        """The batch's totals, once every file is read."""
        sizes = [len(c.text) for p in ready for c in p.chunks]
        self.total_chunks = len(sizes)
        self.chars_before = list(itertools.accumulate(sizes, initial=0))

    def check_stop(self) -> None:
        """A safe point: raise Stopped if the caller asked to stop."""
        if self.hooks.should_stop():
            raise Stopped

    def embedding(self, group: Sequence[Prepared], base: int) -> CountProgress:
        """An embedder progress callback for one group whose first chunk is number `base`."""
        first, last = group[0], group[-1]
        if len(group) == 1:
            label = f"Embedding {first.doc.name} ({first.position + 1}/{self.n_files})"
        else:
            label = (f"Embedding {first.doc.name} and {len(group) - 1} more "
                     f"({first.position + 1}–{last.position + 1}/{self.n_files})")
        share = EMBED_END - READ_SHARE
        if self.embed_started is None:
            self.embed_started = time.perf_counter()
        # Shortest first, as the embedder sorts them: characters done after `done` chunks.
        shortest = list(itertools.accumulate(sorted(len(c.text) for p in group for c in p.chunks),
                                             initial=0))

        def report(done: int, _total: int) -> None:
            self.chunks_done = max(self.chunks_done, base + done)
            self.chars_done = max(self.chars_done, self.chars_before[base] + shortest[done])
            self(READ_SHARE + share * (base + done) / max(self.total_chunks, 1), label)
            self.tick("embedding", first.doc.name, first.position, last.position)
            self.check_stop()  # between embedding batches: nothing of this group is committed

        return report


def refused(name: str, reason: str) -> IngestResult:
    return IngestResult(name=name, status="refused", reason=reason)


def cancelled(name: str) -> IngestResult:
    return IngestResult(name=name, status="cancelled", reason=CANCELLED_REASON)


def check_chunk_limit(name: str, n_chunks: int, limit: int, estimate: bool) -> None:
    """Raise a one-line DocumentError when a file would make more than `limit` chunks."""
    if n_chunks <= limit:
        return
    if estimate:  # a lower bound from a sample: round down to three significant digits
        shown = f"at least {_round_down(n_chunks):,}"
    else:
        shown = f"{n_chunks:,}"
    raise DocumentError(
        f"{display_name(name)}: would make {shown} chunks, limit {limit:,}: "
        "split the file or raise RAGLAB_MAX_CHUNKS_PER_FILE"
    )


def _round_down(n: int, digits: int = 3) -> int:
    """44,637 -> 44,600: an estimate shown without false precision."""
    scale = 10 ** max(len(str(n)) - digits, 0)
    return n // scale * scale


def prepare(
    files: Sequence[tuple[str, bytes]],
    known: dict[str, str],
    settings: ChunkSettings,
    max_bytes: int,
    report: Reporter,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
) -> tuple[list[Prepared], dict[int, IngestResult]]:
    """Parse and chunk every file; duplicates and refusals are settled here.

    `known` maps sha256 -> document name for what the index already holds; it is
    extended with this batch's files so a file uploaded twice in one batch is caught.
    """
    ready: list[Prepared] = []
    results: dict[int, IngestResult] = {}
    for pos, (name, data) in enumerate(files):
        if report.hooks.should_stop():  # the files not read yet are left out (ingest_files)
            break
        report(READ_SHARE * pos / report.n_files, f"Reading {name} ({pos + 1}/{report.n_files})")
        report.tick("reading", name, pos)
        started = time.perf_counter()
        sha = hashlib.sha256(data).hexdigest()
        if sha in known:  # before parsing: a duplicate costs nothing
            results[pos] = IngestResult(name=name, status="duplicate",
                                        reason=f"same content as '{known[sha]}', already indexed")
            continue
        try:
            doc = parse_document(name, data, max_bytes=max_bytes)
            # Estimated before chunking (seconds on a huge file) and embedding (minutes);
            # skipped where it cannot refuse or costs as much as chunking (most files).
            if may_exceed(doc, max_chunks):
                check_chunk_limit(name, min_chunks_estimate(doc, settings), max_chunks,
                                  estimate=True)
            chunks = split_document(doc, settings)
            check_chunk_limit(name, len(chunks), max_chunks, estimate=False)
        except DocumentError as exc:
            results[pos] = refused(name, exc.reason)
            continue
        except Exception:  # noqa: BLE001 - one bad file must not stop the batch
            log.exception("parsing %r failed", name)
            results[pos] = refused(name, GENERIC_REASON)
            continue
        if not chunks:
            results[pos] = refused(name, "no text to index")
            continue
        known[sha] = name
        ready.append(Prepared(pos, doc, chunks, time.perf_counter() - started))
    report.count(ready)
    return ready, results


def groups(ready: Sequence[Prepared], size: int = GROUP_CHUNKS) -> list[list[Prepared]]:
    """Consecutive documents packed into groups of about `size` chunks (a big one alone)."""
    out: list[list[Prepared]] = []
    current: list[Prepared] = []
    count = 0
    for p in ready:
        current.append(p)
        count += len(p.chunks)
        if count >= size:
            out.append(current)
            current, count = [], 0
    if current:
        out.append(current)
    return out


def embed_group(
    store, group: list[Prepared], base: int, report: Reporter, results: dict[int, IngestResult]
) -> Iterator[tuple[list[Prepared], np.ndarray, float]]:
    """Yield (documents, vectors, seconds) for what embeds; an unexpected failure is retried
    document by document so one broken document does not take its group down."""
    started = time.perf_counter()
    texts = [c.text for p in group for c in p.chunks]
    try:
        vectors = store.embedder.embed(texts, progress=report.embedding(group, base))
    except Stopped:
        raise
    except RagLabError as exc:  # a provider problem: the same for every document here
        log.warning("embedding %d documents failed: %s", len(group), exc.reason)
        results.update((p.position, refused(p.doc.name, exc.reason)) for p in group)
        return
    except Exception:  # noqa: BLE001
        if len(group) == 1:
            log.exception("embedding %r failed", group[0].doc.name)
            results[group[0].position] = refused(group[0].doc.name, GENERIC_REASON)
            return
        offset = base
        for p in group:  # isolate the document that fails
            yield from embed_group(store, [p], offset, report, results)
            offset += len(p.chunks)
        return
    yield group, vectors, time.perf_counter() - started


def settle(group: list[Prepared], commit: Future, seconds: float,
           results: dict[int, IngestResult]) -> None:
    """Record a group's outcome once its commit has finished."""
    try:
        commit.result()
    except Exception as exc:  # noqa: BLE001 - the commit rolled itself back
        reason = exc.reason if isinstance(exc, RagLabError) else GENERIC_REASON
        log.error("indexing %d documents failed", len(group), exc_info=exc)
        results.update((p.position, refused(p.doc.name, reason)) for p in group)
        return
    n = sum(len(p.chunks) for p in group)
    for p in group:
        results[p.position] = IngestResult(
            name=p.doc.name, status="ingested", pages=len(p.doc.pages), chunks=len(p.chunks),
            seconds=round(p.seconds + seconds * len(p.chunks) / max(n, 1), 3),
        )


def ingest_files(store, files: Sequence[tuple[str, bytes]], progress: Progress | None,
                 max_bytes: int, max_chunks: int = DEFAULT_MAX_CHUNKS,
                 hooks: IngestHooks | None = None) -> list[IngestResult]:
    """The whole batch (the caller holds the store's write lock).

    Commits (Chroma add, mostly waiting on SQLite; BM25 analysis) run on one worker
    thread while the next group is embedded, so they cost little wall time. When `hooks`
    ask to stop, groups already committed stay (and are saved); the files not committed
    come back as "cancelled".
    """
    report = Reporter(progress, len(files), hooks)
    ready, results = prepare(files, store._known_shas(), store.chunk_settings, max_bytes, report,
                             max_chunks)
    in_flight: deque[tuple[list[Prepared], Future, float]] = deque()
    base = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raglab-commit") as committer:
        try:
            for group in groups(ready, GROUP_CHUNKS):
                report.check_stop()
                for docs, vectors, seconds in embed_group(store, group, base, report, results):
                    if len(in_flight) >= MAX_IN_FLIGHT:  # bounds the vectors held in memory
                        settle(*in_flight.popleft(), results)
                    items = [(p.doc, p.chunks, None) for p in docs]
                    in_flight.append((docs, committer.submit(store._commit, items, vectors),
                                      seconds))
                base += sum(len(p.chunks) for p in group)
        except Stopped:
            log.info("ingest stopped on request after %d chunks", report.chunks_done)
        while in_flight:  # commits already submitted always finish: they are atomic anyway
            settle(*in_flight.popleft(), results)
    if any(r.status == "ingested" for r in results.values()):
        report(0.98, "Saving the index")
        report.tick("saving", files[-1][0], len(files) - 1)
        store._persist()
    report(1.0, "Done")
    report.tick("done", files[-1][0] if files else "", max(len(files) - 1, 0))
    return [results.get(i) or cancelled(name) for i, (name, _) in enumerate(files)]
