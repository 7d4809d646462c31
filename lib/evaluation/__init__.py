"""Retrieval evaluation: metrics, BEIR loading, an embedding cache, and runs over any index.

Also: paired significance tests (significance), per-query diffs (diff), saved runs and the
regression gate (runs), per-collection recommendations (recommend), the abstention curve
(abstention).

`python -m lib.evaluation DIR --split test --methods keyword,vector,hybrid --k 10 --json OUT.json`
"""

from lib.evaluation.beir import Dataset, DatasetError, Document, load_beir
from lib.evaluation.report import EvaluationReport, Metrics, QueryOutcome, Sweep
from lib.evaluation.runner import EvalConfig

__all__ = [
    "Dataset",
    "DatasetError",
    "Document",
    "EvalConfig",
    "EvaluationReport",
    "Metrics",
    "QueryOutcome",
    "Sweep",
    "load_beir",
]
