"""The evaluation report as frozen types, its JSON at the disk edge, and the views drawn from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lib.evaluation.beir import DatasetError
from lib.retrieval.fusion import FusionSettings

# Written into every saved report. Bump it when the JSON changes shape and teach from_json to
# read the previous shape; files saved before versioning (no "version") are version 1's shape.
REPORT_VERSION = 1
SINGLE = ("keyword", "vector")  # hybrid is compared against the better of these per query
TIE = 1e-9  # nDCG differences below this are float noise, not a win or a loss
DIGITS = 4  # the report's means and sweep points are rounded to this on disk


def metric_names(k: int) -> list[str]:
    """The report's four figures in display order (ndcg@k, recall@k, mrr@k, map)."""
    return [f"ndcg@{k}", f"recall@{k}", f"mrr@{k}", "map"]


@dataclass(frozen=True)
class Metrics:
    """One method's figures at cut-off k (a query's, or the mean over queries)."""

    k: int
    ndcg: float
    recall: float
    mrr: float
    map: float
    precision: float | None = None  # per-query rows keep it; the means and sweeps leave it out

    @classmethod
    def from_scores(cls, scores: Mapping[str, float], k: int) -> Metrics:
        """From the names lib.evaluation.metrics uses (`ndcg@10`, ..., `map`)."""
        return cls(
            k,
            scores[f"ndcg@{k}"],
            scores[f"recall@{k}"],
            scores[f"mrr@{k}"],
            scores["map"],
            scores.get(f"precision@{k}"),
        )

    def headline(self) -> Metrics:
        """The four reported figures, rounded as the report saves them."""
        figures = (round(v, DIGITS) for v in (self.ndcg, self.recall, self.mrr, self.map))
        return Metrics(self.k, *figures)

    def to_json(self) -> dict[str, float]:
        """Named figures; precision only when present."""
        out = dict(zip(metric_names(self.k)[:3], (self.ndcg, self.recall, self.mrr)))
        if self.precision is not None:
            out[f"precision@{self.k}"] = self.precision
        return {**out, "map": self.map}


@dataclass(frozen=True)
class QueryOutcome:
    """One query's top-k documents and metrics, per method."""

    id: str
    text: str
    relevant: Mapping[str, int]
    ranked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metrics: Mapping[str, Metrics] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # doc id -> title, when they differ

    def to_json(self) -> dict[str, Any]:
        """The saved per-query row."""
        return {
            "id": self.id,
            "text": self.text,
            "relevant": dict(self.relevant),
            "ranked": {m: list(docs) for m, docs in self.ranked.items()},
            "metrics": {m: v.to_json() for m, v in self.metrics.items()},
            "labels": dict(self.labels),
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any], k: int) -> QueryOutcome:
        """A saved per-query row back into a QueryOutcome."""
        return cls(
            str(row["id"]),
            row["text"],
            dict(row["relevant"]),
            {m: tuple(docs) for m, docs in row.get("ranked", {}).items()},
            {m: Metrics.from_scores(v, k) for m, v in row.get("metrics", {}).items()},
            dict(row.get("labels", {})),
        )


def sweep_key(parameter: str) -> str:
    """The FusionSettings field a sweep varies (also its points' JSON key): alpha or rrf_k."""
    return "alpha" if parameter == "alpha" else "rrf_k"


@dataclass(frozen=True)
class SweepPoint:
    """Hybrid's figures at one value of the swept parameter."""

    value: float  # alpha, or RRF's k
    metrics: Metrics
    ci_low: float | None = None  # bootstrap 95% interval of the mean nDCG@k (the band)
    ci_high: float | None = None
    p_vs_best: float | None = None  # paired test against the sweep's best point
    near_best: bool | None = None  # not significantly worse than the best point

    def interval_json(self) -> dict[str, Any]:
        """The band and the comparison with the best point (empty when not computed)."""
        if self.ci_low is None:
            return {}
        return {"ci_low": round(self.ci_low, DIGITS), "ci_high": round(self.ci_high or 0, DIGITS),
                "p_vs_best": self.p_vs_best, "near_best": self.near_best}


@dataclass(frozen=True)
class Sweep:
    """Hybrid nDCG@k along alpha (weighted fusion) or RRF's k, single methods as references."""

    parameter: str  # a key of lib.evaluation.api.SWEEPS: "alpha" or "rrf-k"
    normalization: str
    depth: int
    k: int
    points: tuple[SweepPoint, ...]
    reference: Mapping[str, float]  # keyword's and vector's nDCG@k

    @property
    def mode(self) -> str:
        """The fusion mode the sweep runs in."""
        return "weighted" if self.parameter == "alpha" else "rrf"

    @property
    def key(self) -> str:
        """The FusionSettings field the sweep varies."""
        return sweep_key(self.parameter)

    @property
    def metric(self) -> str:
        """The figure the curve shows."""
        return f"ndcg@{self.k}"

    def best(self) -> SweepPoint:
        """The point with the highest nDCG@k (the first of equals)."""
        return max(self.points, key=lambda p: p.metrics.ndcg)

    def to_json(self) -> dict[str, Any]:
        """The saved curve."""
        return {
            "parameter": self.parameter,
            "mode": self.mode,
            "normalization": self.normalization,
            "depth": self.depth,
            "metric": self.metric,
            "points": [
                {self.key: p.value, **p.metrics.headline().to_json(), **p.interval_json()}
                for p in self.points
            ],
            "reference": dict(self.reference),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], k: int) -> Sweep:
        """A saved curve back into a Sweep."""
        key = sweep_key(data["parameter"])
        points = tuple(
            SweepPoint(p[key], Metrics.from_scores(p, k), p.get("ci_low"), p.get("ci_high"),
                       p.get("p_vs_best"), p.get("near_best"))
            for p in data["points"]
        )
        return cls(
            data["parameter"], data["normalization"], data["depth"], k, points, data["reference"]
        )


@dataclass(frozen=True)
class RunSettings:
    """How the figures were made: shown under the table and saved beside them."""

    k: int
    methods: tuple[str, ...]
    fusion: FusionSettings
    embedder: str
    chunking: Mapping[str, Any]  # descriptive: size, overlap, unit, chunks, how each side reads
    aggregation: str
    candidates_per_method: int
    map: str
    gain: str
    split: str = "all"
    index: str = ""  # "the app's index" for runs on the app's own index
    index_seconds: float | None = None  # BEIR: loading and embedding the corpus
    judged_queries_only: bool = True

    def to_json(self) -> dict[str, Any]:
        """The saved settings."""
        f = self.fusion
        out: dict[str, Any] = {
            "k": self.k,
            "methods": list(self.methods),
            "fusion": {
                "mode": str(f.mode),
                "rrf_k": f.rrf_k,
                "alpha": f.alpha,
                "normalization": str(f.normalization),
                "depth": f.depth,
            },
            "embedder": self.embedder,
            "chunking": dict(self.chunking),
            "aggregation": self.aggregation,
            "candidates_per_method": self.candidates_per_method,
            "map": self.map,
            "gain": self.gain,
            "judged_queries_only": self.judged_queries_only,
            "split": self.split,
        }
        if self.index_seconds is not None:
            out["index_seconds"] = self.index_seconds
        if self.index:
            out["index"] = self.index
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSettings:
        """Saved settings back into RunSettings."""
        return cls(
            k=int(data["k"]),
            methods=tuple(data["methods"]),
            fusion=FusionSettings(**data["fusion"]),
            embedder=data["embedder"],
            chunking=dict(data.get("chunking", {})),
            aggregation=data["aggregation"],
            candidates_per_method=int(data["candidates_per_method"]),
            map=data["map"],
            gain=data["gain"],
            split=data.get("split", "all"),
            index=data.get("index", ""),
            index_seconds=data.get("index_seconds"),
            judged_queries_only=bool(data.get("judged_queries_only", True)),
        )


@dataclass(frozen=True)
class QueryDelta:
    """One query: hybrid's nDCG@k against the better single method's."""

    id: str
    text: str
    hybrid: float
    best_single: str
    single: float

    @property
    def delta(self) -> float:
        """Positive when hybrid wins."""
        return self.hybrid - self.single


@dataclass(frozen=True)
class WinLoss:
    """How many queries hybrid wins, ties and loses against the better single method."""

    wins: int
    ties: int
    losses: int


@dataclass(frozen=True)
class EvaluationReport:
    """Per-method means, the settings behind them, per-query detail and an optional sweep."""

    dataset: str
    settings: RunSettings
    methods: Mapping[str, Metrics]
    n_queries: int
    queries: tuple[QueryOutcome, ...] = ()  # empty when saved without per-query detail
    sweep: Sweep | None = None
    saved_at: str = ""
    run_id: str = ""  # set when saved as a run (lib.evaluation.runs)
    fingerprint: str = ""  # the judged queries, grades and corpus (lib.evaluation.runs)

    @property
    def k(self) -> int:
        """The cut-off of the @k figures."""
        return self.settings.k

    @property
    def split(self) -> str:
        """The qrels split ("all" for the app's own queries)."""
        return self.settings.split

    def metric_table(self) -> dict[str, dict[str, float]]:
        """method -> the four figures by name, in display order."""
        return {m: v.headline().to_json() for m, v in self.methods.items()}

    def best_method(self) -> str:
        """The method with the highest nDCG@k."""
        return max(self.methods, key=lambda m: self.methods[m].ndcg)

    def per_query_scores(self, metric: str = "ndcg") -> dict[str, list[float]]:
        """method -> one figure per query, in query order (the paired tests' input)."""
        return {
            m: [getattr(q.metrics[m], metric) for q in self.queries if m in q.metrics]
            for m in self.methods
        }

    def outcome(self, query_id: str) -> QueryOutcome:
        """One query's outcome by id."""
        return next(q for q in self.queries if q.id == query_id)

    def query_deltas(self) -> list[QueryDelta]:
        """Per query, from hybrid's biggest win to its biggest loss (empty without all three)."""
        if not all(m in self.methods for m in ("hybrid", *SINGLE)):
            return []
        rows = []
        for q in self.queries:
            best = max(SINGLE, key=lambda m: q.metrics[m].ndcg)
            rows.append(
                QueryDelta(q.id, q.text, q.metrics["hybrid"].ndcg, best, q.metrics[best].ndcg)
            )
        return sorted(rows, key=lambda r: -r.delta)

    def win_loss(self) -> WinLoss:
        """Hybrid's wins, ties and losses against the better single method."""
        deltas = [r.delta for r in self.query_deltas()]
        return WinLoss(
            sum(d > TIE for d in deltas),
            sum(abs(d) <= TIE for d in deltas),
            sum(d < -TIE for d in deltas),
        )

    def to_json(self, per_query: bool = False) -> dict[str, Any]:
        """The JSON report: version, dataset, queries, methods, settings (+ sweep, per_query)."""
        out: dict[str, Any] = {
            "version": REPORT_VERSION,
            "dataset": self.dataset,
            "queries": self.n_queries,
            "methods": self.metric_table(),
            "settings": self.settings.to_json(),
        }
        if self.sweep is not None:
            out["sweep"] = self.sweep.to_json()
        if per_query:
            out["per_query"] = [q.to_json() for q in self.queries]
        if self.saved_at:
            out["saved_at"] = self.saved_at
        if self.run_id:
            out["run_id"] = self.run_id
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """A saved report (any version up to REPORT_VERSION; none = before versioning)."""
        version = int(data.get("version", 1))
        if version > REPORT_VERSION:
            raise DatasetError(f"the report was saved by a newer RAG Lab (version {version})")
        settings = RunSettings.from_json(data["settings"])
        k = settings.k
        return cls(
            dataset=str(data["dataset"]),
            settings=settings,
            methods={m: Metrics.from_scores(v, k) for m, v in data["methods"].items()},
            n_queries=int(data["queries"]),
            queries=tuple(QueryOutcome.from_json(q, k) for q in data.get("per_query", [])),
            sweep=Sweep.from_json(data["sweep"], k) if data.get("sweep") else None,
            saved_at=str(data.get("saved_at", "")),
            run_id=str(data.get("run_id", "")),
            fingerprint=str(data.get("fingerprint", "")),
        )

    def stamped(self, saved_at: str) -> EvaluationReport:
        """The same report with its save time."""
        return replace(self, saved_at=saved_at)


def reference_lines(
    methods: Mapping[str, Metrics], names: Sequence[str] = SINGLE
) -> dict[str, float]:
    """The single methods' rounded nDCG@k, the horizontal lines under a sweep curve."""
    return {m: methods[m].headline().ndcg for m in names if m in methods}
