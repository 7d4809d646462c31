"""What the app measured, read from the data dir as frozen records; each missing piece a next step.

Nothing here is estimated except where a field says so: the figures come from the saved
evaluation run, the saved 2x2 batch, the fine-tuning dataset and the model registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lib.compare.results import BatchResults
from lib.compare.results import load_results as load_batch
from lib.config import SAMPLE_DOCS_DIR
from lib.decision.records import (
    CellScore,
    DatasetEvidence,
    Evidence,
    GridEvidence,
    MethodScore,
    NextStep,
    PromptTokens,
    RetrievalEvidence,
    TrainingEvidence,
)
from lib.evaluation.api import load_results as load_evaluations
from lib.evaluation.report import EvaluationReport
from lib.finetune import dataset as ds
from lib.finetune import registry
from lib.finetune.dataset import TokenCounter

# The price the dataset's cost estimate uses by default: the Fine-tune page's first usual pick.
DEFAULT_TRAINING_MODEL = "gpt-4o-mini-2024-07-18"
STYLE_GUIDE = SAMPLE_DOCS_DIR / "compliance_style_guide.md"
QUERY_TYPES = SAMPLE_DOCS_DIR / "eval" / "queries.jsonl"
# An exact identifier: product codes (OB-7731), error codes (ERR-4031), versions (v2.3.1),
# BIC-like codes (ORBTGB2L). Used for runs whose queries carry no "type" label.
EXACT_ID = re.compile(r"\b[A-Z]{2,5}-\d{3,6}\b|\bv\d+(?:\.\d+)+\b|\b[A-Z]{6}[A-Z0-9]{2}\b")


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
    """The newest dataset file in the data dir (a training run writes its train split there)."""
    files = sorted((Path(data_dir) / "datasets").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def dataset_evidence(
    data_dir: Path, price_model: str = DEFAULT_TRAINING_MODEL, count: TokenCounter | None = None
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


def prompt_tokens(count: TokenCounter | None = None, chunk_size: int = 128) -> PromptTokens:
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
        RagSettings().whole_chunks * chunk_size,  # what a remote model is shown per question
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
    data_dir: Path,
    indexed_chunks: int | None = None,
    count: TokenCounter | None = None,
    chunk_size: int = 128,
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
