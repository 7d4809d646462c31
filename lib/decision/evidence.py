"""What the app measured, read from the data dir as frozen records; each missing piece a next step.

Nothing here is estimated except where a field says so: the figures come from the saved
evaluation run, the saved 2x2 batch, the fine-tuning dataset and the model registry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from lib.compare.results import BatchResults
from lib.compare.results import load_results as load_batch
from lib.config import SAMPLE_DOCS_DIR
from lib.evaluation.api import load_results as load_evaluations
from lib.evaluation.report import EvaluationReport
from lib.finetune import dataset as ds
from lib.finetune import registry

# The price the dataset's cost estimate uses by default: the Fine-tune page's first usual pick.
DEFAULT_TRAINING_MODEL = "gpt-4o-mini-2024-07-18"
STYLE_GUIDE = SAMPLE_DOCS_DIR / "compliance_style_guide.md"
QUERY_TYPES = SAMPLE_DOCS_DIR / "eval" / "queries.jsonl"
# An exact identifier: product codes (OB-7731), error codes (ERR-4031), versions (v2.3.1),
# BIC-like codes (ORBTGB2L). Used for runs whose queries carry no "type" label.
EXACT_ID = re.compile(r"\b[A-Z]{2,5}-\d{3,6}\b|\bv\d+(?:\.\d+)+\b|\b[A-Z]{6}[A-Z0-9]{2}\b")
TOKEN_COUNTER = "MiniLM WordPiece tokenizer (lib.ingest.tokenizer; close to OpenAI's counts)"


@dataclass(frozen=True)
class NextStep:
    """Something to do, and the page that does it."""

    what: str
    page: str  # a path of ui.frame.PAGES, e.g. "pages/evaluate.py"
    label: str  # that page's sidebar label


@dataclass(frozen=True)
class MethodScore:
    """One retrieval method's mean figures in the latest run."""

    method: str
    ndcg: float
    recall: float
    mrr: float


@dataclass(frozen=True)
class RetrievalEvidence:
    """The latest evaluation run, reduced to what the decision needs."""

    dataset: str
    saved_at: str
    k: int
    n_queries: int
    embedder: str
    methods: tuple[MethodScore, ...]
    hybrid_wins: int | None = None  # per query, against the better single method
    hybrid_ties: int | None = None
    hybrid_losses: int | None = None
    id_queries: int = 0  # exact-ID queries in the run
    keyword_wins_ids: int = 0  # of those, keyword nDCG above vector's
    vector_wins_ids: int = 0

    def score(self, method: str) -> MethodScore | None:
        return next((m for m in self.methods if m.method == method), None)

    @property
    def best(self) -> MethodScore:
        return max(self.methods, key=lambda m: m.ndcg)

    @property
    def hybrid_beats_single(self) -> bool | None:
        """Hybrid's mean nDCG above the better of keyword and vector (None: not all three ran)."""
        hybrid = self.score("hybrid")
        singles = [s for s in (self.score("keyword"), self.score("vector")) if s]
        if hybrid is None or len(singles) < 2:
            return None
        return hybrid.ndcg > max(s.ndcg for s in singles)


@dataclass(frozen=True)
class CellScore:
    """One 2x2 cell's averages over the batch (rates in 0..1, None when never checked)."""

    key: str
    label: str
    facts: float | None  # share of answers stating the expected fact
    grounded: float | None
    style: float | None  # share of applicable style rules passed
    n: int


@dataclass(frozen=True)
class GridEvidence:
    """The saved 2x2 batch: did RAG fix facts, did fine-tuning fix behaviour?"""

    created_at: str
    base: str
    fine_tuned: str
    n_questions: int
    cells: tuple[CellScore, ...]

    def cell(self, key: str) -> CellScore | None:
        return next((c for c in self.cells if c.key == key), None)

    def mean(self, attr: str, keys: tuple[str, ...]) -> float | None:
        """Mean of one rate over some cells (cells without the rate are left out)."""
        values = [
            getattr(c, attr) for k in keys if (c := self.cell(k)) and getattr(c, attr) is not None
        ]
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class DatasetEvidence:
    """The fine-tuning dataset and what an OpenAI job on it would cost."""

    source: str  # file name, or "bundled sample dataset"
    n_examples: int
    mean_tokens: float
    epochs: int
    billed_tokens: int
    price_model: str
    usd_per_million: float
    cost_usd: float
    prices_date: str


@dataclass(frozen=True)
class TrainingEvidence:
    """A LoRA run's measured training time, from its model record."""

    label: str
    seconds: float
    steps: int
    n_examples: int
    created_at: str
    shipped: bool  # the repo's adapter (trained on this machine kind), not one trained here


@dataclass(frozen=True)
class PromptTokens:
    """Token counts of the app's real prompts, and of what fine-tuning could take out of them."""

    rag_system: int  # lib.generation.rag.SYSTEM_PROMPT
    plain_system: int  # lib.generation.rag.PLAIN_SYSTEM_PROMPT
    style_rules: int  # the style guide's rules table: what a prompt carries without fine-tuning
    style_guide: int  # the whole style guide
    sources: int  # estimate: k retrieved chunks x chunk size (the default RAG settings)
    question: int = 20  # estimate: a typical one-line question
    counter: str = TOKEN_COUNTER

    @property
    def rag_request(self) -> int:
        """One grounded request today: system prompt, style rules, sources, question."""
        return self.rag_system + self.style_rules + self.sources + self.question


@dataclass(frozen=True)
class Evidence:
    """Everything measured so far; `missing` says what to run to fill the gaps."""

    indexed_chunks: int | None = None
    retrieval: RetrievalEvidence | None = None
    grid: GridEvidence | None = None
    dataset: DatasetEvidence | None = None
    training: TrainingEvidence | None = None
    prompts: PromptTokens | None = None
    missing: tuple[NextStep, ...] = ()


def latest_evaluation(data_dir: Path) -> EvaluationReport | None:
    """The most recently saved evaluation run (any dataset), or None."""
    runs = list(load_evaluations(data_dir).values())
    return max(runs, key=lambda r: r.saved_at) if runs else None


def _query_types(path: Path = QUERY_TYPES) -> dict[str, str]:
    """Sample query id -> its labelled type ("exact_id", "paraphrase"...)."""
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError):
        return {}
    return {str(r.get("_id")): str(r.get("type", "")) for r in rows}


def retrieval_evidence(report: EvaluationReport) -> RetrievalEvidence:
    """Means per method, hybrid's wins and losses, and who wins the exact-ID queries."""
    methods = tuple(MethodScore(m, v.ndcg, v.recall, v.mrr) for m, v in report.methods.items())
    wl = report.win_loss() if report.query_deltas() else None
    types = _query_types() if report.dataset == "samples" else {}
    ids = [
        q
        for q in report.queries
        if types.get(q.id) == "exact_id" or (not types and EXACT_ID.search(q.text))
    ]
    both = [q for q in ids if "keyword" in q.metrics and "vector" in q.metrics]
    return RetrievalEvidence(
        report.dataset,
        report.saved_at,
        report.k,
        report.n_queries,
        report.settings.embedder,
        methods,
        wl.wins if wl else None,
        wl.ties if wl else None,
        wl.losses if wl else None,
        len(both),
        sum(q.metrics["keyword"].ndcg > q.metrics["vector"].ndcg for q in both),
        sum(q.metrics["vector"].ndcg > q.metrics["keyword"].ndcg for q in both),
    )


def grid_evidence(batch: BatchResults) -> GridEvidence:
    """The batch's per-cell averages."""
    cells = tuple(
        CellScore(
            c.key,
            c.label,
            c.expected_fact if c.expected_fact is not None else c.style.facts_ok,
            c.style.grounded,
            c.style.style_score,
            c.style.n,
        )
        for c in batch.summary.cells
    )
    return GridEvidence(batch.created_at, batch.base, batch.fine_tuned, batch.n_questions, cells)


def _latest_dataset(data_dir: Path) -> Path | None:
    """The newest dataset file the Fine-tune page wrote (train split preferred)."""
    files = sorted((Path(data_dir) / "datasets").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def dataset_evidence(
    data_dir: Path, price_model: str = DEFAULT_TRAINING_MODEL, count=None
) -> DatasetEvidence | None:
    """Size and OpenAI cost of the latest dataset built in the app, else of the bundled one."""
    path = _latest_dataset(data_dir)
    try:
        examples = ds.load_jsonl(path) if path else ds.load_bundled()
    except ds.DatasetError:
        return None
    stats = ds.statistics(examples, count=count)
    price = ds.PRICES_USD_PER_M[price_model]
    return DatasetEvidence(
        path.name if path else "bundled sample dataset",
        stats.n_examples,
        round(stats.mean_tokens, 1),
        stats.epochs,
        stats.billed_tokens,
        price_model,
        price,
        round(ds.estimate_cost(stats, price), 4),
        ds.PRICES_DATE,
    )


def training_evidence(data_dir: Path) -> TrainingEvidence | None:
    """The newest local LoRA run trained here with a measured time, else the shipped adapter's."""
    records = registry.list_records(data_dir)
    timed = [(folder, r) for folder, r in records if r.kind == "lora" and r.seconds > 0]
    if not timed:
        return None
    folder, rec = timed[-1]
    return TrainingEvidence(
        rec.label,
        rec.seconds,
        rec.steps,
        rec.n_examples,
        rec.created_at,
        folder == registry.SHIPPED_DIR,
    )


def _rules_section(text: str) -> str:
    """The style guide's "at a glance" section (its rules table), or the whole text."""
    match = re.search(r"^## The six rules at a glance\n(.*?)(?=^## )", text, re.M | re.S)
    return match.group(1) if match else text


def prompt_tokens(count=None, chunk_size: int = 128) -> PromptTokens:
    """Count the real prompts with the MiniLM tokenizer (or `count`, for tests)."""
    from lib.generation.rag import PLAIN_SYSTEM_PROMPT, SYSTEM_PROMPT, RagSettings

    if count is None:
        from lib.ingest.tokenizer import count_tokens as count
    guide = STYLE_GUIDE.read_text(encoding="utf-8") if STYLE_GUIDE.is_file() else ""
    return PromptTokens(
        count(SYSTEM_PROMPT),
        count(PLAIN_SYSTEM_PROMPT),
        count(_rules_section(guide)) if guide else 0,
        count(guide) if guide else 0,
        RagSettings().k * chunk_size,
    )


def missing_steps(ev: Evidence) -> tuple[NextStep, ...]:
    """A next step, naming the page that produces it, for every missing piece of evidence."""
    steps = []
    if not ev.indexed_chunks:
        steps.append(
            NextStep(
                "Load your documents (or the samples) into the index",
                "pages/documents.py",
                "Documents",
            )
        )
    if ev.retrieval is None:
        steps.append(
            NextStep(
                "Run an evaluation to measure retrieval per method", "pages/evaluate.py", "Evaluate"
            )
        )
    if ev.grid is None:
        steps.append(
            NextStep(
                "Run a batch of the 2x2 grid to see what RAG and fine-tuning each fix",
                "pages/compare.py",
                "Compare",
            )
        )
    if ev.dataset is None:
        steps.append(NextStep("Build a fine-tuning dataset", "pages/finetune.py", "Fine-tune"))
    if ev.training is None:
        steps.append(
            NextStep(
                "Train a LoRA adapter to measure the training time",
                "pages/finetune.py",
                "Fine-tune",
            )
        )
    return tuple(steps)


def gather(
    data_dir: Path, indexed_chunks: int | None = None, count=None, chunk_size: int = 128
) -> Evidence:
    """Read every piece of evidence from the data dir (the index size comes from the caller)."""
    report = latest_evaluation(data_dir)
    batch = load_batch(data_dir)
    ev = Evidence(
        indexed_chunks=indexed_chunks,
        retrieval=retrieval_evidence(report) if report and report.methods else None,
        grid=grid_evidence(batch) if batch and batch.summary.cells else None,
        dataset=dataset_evidence(data_dir, count=count),
        training=training_evidence(data_dir),
        prompts=prompt_tokens(count, chunk_size),
    )
    return Evidence(**{**ev.__dict__, "missing": missing_steps(ev)})
