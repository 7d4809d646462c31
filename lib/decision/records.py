"""The evidence records the decision reads: frozen, plain data, no I/O (evidence.py fills them)."""

from __future__ import annotations

from dataclasses import dataclass

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
