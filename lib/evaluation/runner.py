"""Run labelled queries through the app's own search and score each method per document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from lib.evaluation.metrics import Gain, mean_metrics, query_metrics
from lib.retrieval.fusion import FusionSettings, fuse
from lib.retrieval.search import Method, SearchIndex, search
from lib.types import Chunk, Hit, Progress

DocKey = Callable[[Chunk], str]
REPORTED = ("ndcg", "recall", "mrr")  # the @k metrics in the summary, plus "map"
AGGREGATION = "max"  # a document's score is its best chunk's


def beir_doc_key(chunk: Chunk) -> str:
    """BEIR corpus ids are the chunks' doc_id."""
    return chunk.doc_id


def app_doc_key(chunk: Chunk) -> str:
    """The app's qrels name documents by file name."""
    return chunk.doc_name


def doc_ranking(hits: Sequence[Hit], doc_key: DocKey) -> list[tuple[str, float]]:
    """Chunk hits -> documents, each scored by its best (first-ranked) chunk."""
    seen: dict[str, float] = {}
    for hit in hits:
        seen.setdefault(doc_key(hit.chunk), hit.score)
    return list(seen.items())


@dataclass(frozen=True)
class EvalConfig:
    """What to run: methods, cut-off k, fusion settings, chunk candidates per method."""

    methods: tuple[str, ...] = ("keyword", "vector", "hybrid")
    k: int = 10
    fusion: FusionSettings = field(default_factory=FusionSettings)
    candidates: int = 0  # chunks per method and query; 0 = max(fusion.depth, 5 * k)
    gain: Gain = "exponential"

    @property
    def n_candidates(self) -> int:
        # 5 * k chunks leave room for k distinct documents when documents have several
        # chunks; never fewer than fusion.depth, so hybrid fuses exactly as the app does.
        return self.candidates or max(self.fusion.depth, 5 * self.k)


@dataclass
class QueryOutcome:
    """One query's ranked documents (top k) and metrics, per method."""

    id: str
    text: str
    relevant: dict[str, int]
    ranked: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # doc id -> title, when they differ


@dataclass
class EvaluationResult:
    """Per-method means, the settings that produced them, per-query detail, optional sweep."""

    dataset: str
    split: str
    methods: dict[str, dict[str, float]]
    settings: dict
    queries: list[QueryOutcome]
    sweep: dict | None = None

    def summary(self, k: int) -> dict[str, dict[str, float]]:
        """methods -> {ndcg@k, recall@k, mrr@k, map} (the report's four figures)."""
        names = [f"{m}@{k}" for m in REPORTED] + ["map"]
        return {m: {n: round(v[n], 4) for n in names} for m, v in self.methods.items()}

    def to_json(self, per_query: bool = False) -> dict:
        """The JSON report: dataset, queries, methods, settings (+ sweep, + per_query)."""
        k = int(self.settings["k"])
        out: dict = {
            "dataset": self.dataset,
            "queries": len(self.queries),
            "methods": self.summary(k),
            "settings": self.settings,
        }
        if self.sweep is not None:
            out["sweep"] = self.sweep
        if per_query:
            out["per_query"] = [asdict(q) for q in self.queries]
        return out


def fusion_settings_dict(fusion: FusionSettings) -> dict:
    """FusionSettings as plain JSON values."""
    return {
        "mode": str(fusion.mode),
        "rrf_k": fusion.rrf_k,
        "alpha": fusion.alpha,
        "normalization": str(fusion.normalization),
        "depth": fusion.depth,
    }


def evaluate_index(
    index: SearchIndex,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    config: EvalConfig = EvalConfig(),
    doc_key: DocKey = beir_doc_key,
    progress: Progress | None = None,
) -> tuple[dict[str, dict[str, float]], list[QueryOutcome]]:
    """Search every judged query with each method; score the document rankings.

    Args:
        index: any SearchIndex (the app's Store, or a MemoryIndex over a BEIR corpus).
        queries: query id -> text (only ids with qrels are run).
        qrels: query id -> document id -> grade.
        config: methods, k, fusion settings, candidates per method.
        doc_key: maps a chunk to the document id the qrels use.
        progress: called with (fraction done, label).
    Returns:
        (method -> mean metrics, per-query outcomes).
    """
    ids = [q for q in qrels if q in queries and any(g >= 1 for g in qrels[q].values())]
    outcomes = []
    for n, qid in enumerate(ids):
        outcome = QueryOutcome(qid, queries[qid], dict(qrels[qid]))
        for method in config.methods:
            hits = search(
                index, queries[qid], Method.from_str(method), config.n_candidates, config.fusion
            )
            docs = [d for d, _ in doc_ranking(hits, doc_key)]
            outcome.ranked[method] = docs[: config.k]
            outcome.labels.update(_labels(hits, doc_key, set(docs[: config.k])))
            outcome.metrics[method] = query_metrics(docs, qrels[qid], config.k, config.gain)
        outcomes.append(outcome)
        if progress is not None and (n % 10 == 9 or n + 1 == len(ids)):
            progress((n + 1) / len(ids), f"query {n + 1}/{len(ids)}")
    means = {m: mean_metrics([o.metrics[m] for o in outcomes]) for m in config.methods}
    return means, outcomes


def _labels(hits: Sequence[Hit], doc_key: DocKey, wanted: set[str]) -> dict[str, str]:
    """Readable names for the shown documents (BEIR ids are numbers; titles are not)."""
    return {
        doc_key(h.chunk): h.chunk.doc_name[:120]
        for h in hits
        if doc_key(h.chunk) in wanted and h.chunk.doc_name != doc_key(h.chunk)
    }


def raw_lists(
    index: SearchIndex, query: str, depth: int
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The vector and keyword candidate lists hybrid search fuses (for sweeps)."""
    if not any(ch.isalnum() for ch in query):
        return [], []
    vector = index.vector_query(index.embedder.embed_query(query), depth)
    return vector, index.keyword_query(query, depth)


def sweep(
    index: SearchIndex,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    grid: Sequence[FusionSettings],
    config: EvalConfig = EvalConfig(),
    doc_key: DocKey = beir_doc_key,
    progress: Progress | None = None,
) -> list[dict[str, float]]:
    """Hybrid metrics for each fusion setting in `grid`, retrieving each query only once.

    Re-fusing the same candidate lists is what hybrid_search does internally
    (fuse(vector top-depth, keyword top-depth)), so each point equals a full run.
    """
    ids = [q for q in qrels if q in queries and any(g >= 1 for g in qrels[q].values())]
    per_point: list[list[dict[str, float]]] = [[] for _ in grid]
    for n, qid in enumerate(ids):
        depth = max([f.depth for f in grid] + [config.n_candidates])
        vector, keyword = raw_lists(index, queries[qid], depth)
        for i, fusion in enumerate(grid):
            d = max(fusion.depth, config.n_candidates)
            fused = fuse(vector[:d], keyword[:d], fusion)[: config.n_candidates]
            hits = [Hit(index.chunk(c), s, r, "hybrid") for r, (c, s) in enumerate(fused, 1)]
            docs = [doc for doc, _ in doc_ranking(hits, doc_key)]
            per_point[i].append(query_metrics(docs, qrels[qid], config.k, config.gain))
        if progress is not None and (n % 10 == 9 or n + 1 == len(ids)):
            progress((n + 1) / len(ids), f"sweep {n + 1}/{len(ids)}")
    return [mean_metrics(points) for points in per_point]
