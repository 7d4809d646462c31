"""Saved evaluation runs: one JSON report per run under <data dir>/results/runs, and the gate.

A run is an EvaluationReport with per-query detail, a run id and the dataset's fingerprint
(so two runs on different data are never compared silently). Latest-result files written
before runs existed (results/evaluation-*.json) are listed too, under their file stem.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from lib.evaluation.beir import DatasetError
from lib.evaluation.diff import Change, QueryDiff, Side, counts, diff
from lib.evaluation.report import EvaluationReport
from lib.evaluation.significance import PairedTest, paired_test
from lib.io import atomic_write_json
from lib.types import RagLabError

_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, RagLabError)


def runs_dir(data_dir: Path) -> Path:
    """Where every run is kept (<data dir>/results/runs)."""
    return Path(data_dir) / "results" / "runs"


def fingerprint(
    queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], documents: Iterable[str]
) -> str:
    """16 hex digits identifying the judged queries, their grades and the corpus's documents."""
    h = hashlib.sha256()
    for qid in sorted(qrels):
        h.update(f"q\x00{qid}\x00{queries.get(qid, '')}\n".encode())
        for doc, grade in sorted(qrels[qid].items()):
            h.update(f"j\x00{doc}\x00{grade}\n".encode())
    for doc in sorted(documents):
        h.update(f"d\x00{doc}\n".encode())
    return h.hexdigest()[:16]


def new_run_id(dataset: str, when: float | None = None) -> str:
    """`20261201-221719-scifact-3fa2`: sortable by time, readable, unique."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(when))
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip(".-")[:40] or "dataset"
    return f"{stamp}-{safe}-{secrets.token_hex(2)}"


def save_run(report: EvaluationReport, data_dir: Path) -> EvaluationReport:
    """Write the report as a new run (per-query detail included); returns it with id and time."""
    now = time.time()
    stamped = replace(
        report,
        run_id=report.run_id or new_run_id(report.dataset, now),
        saved_at=report.saved_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    )
    atomic_write_json(run_path(data_dir, stamped.run_id), stamped.to_json(per_query=True), indent=1)
    return stamped


def run_path(data_dir: Path, run_id: str) -> Path:
    """The file of one run id (ids are checked: no path separators)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", run_id) or run_id.startswith("."):
        raise DatasetError(f"'{run_id}' is not a run id")
    return runs_dir(data_dir) / f"{run_id}.json"


def _read(path: Path, run_id: str) -> EvaluationReport:
    report = EvaluationReport.from_json(json.loads(path.read_text(encoding="utf-8")))
    return report if report.run_id else replace(report, run_id=run_id)


def list_runs(data_dir: Path) -> list[EvaluationReport]:
    """Every readable run, newest first (older latest-result files included by file stem)."""
    found: dict[str, EvaluationReport] = {}
    legacy = sorted((Path(data_dir) / "results").glob("evaluation-*.json"))
    for path in [*sorted(runs_dir(data_dir).glob("*.json")), *legacy]:
        try:
            report = _read(path, path.stem)
        except _READ_ERRORS:
            continue
        found.setdefault(report.run_id, report)  # a latest file repeats its run: keep one
    return sorted(found.values(), key=lambda r: (r.saved_at, r.run_id), reverse=True)


def load_run(data_dir: Path, run_id: str) -> EvaluationReport:
    """One run by id, or any saved report file by path; DatasetError when neither reads."""
    candidates = [Path(run_id)] if run_id.endswith(".json") else []
    if not candidates:
        candidates = [run_path(data_dir, run_id), Path(data_dir) / "results" / f"{run_id}.json"]
    for path in candidates:
        if path.is_file():
            try:
                return _read(path, path.stem)
            except _READ_ERRORS as exc:
                raise DatasetError(f"run {run_id} cannot be read: {exc}") from exc
    raise DatasetError(f"no saved run '{run_id}' in {runs_dir(data_dir)}")


@dataclass(frozen=True)
class RunComparison:
    """One method's per-query figures in a base run and a new run, and the verdict."""

    base: EvaluationReport
    new: EvaluationReport
    method: str
    metric: str
    rows: tuple[QueryDiff, ...]
    test: PairedTest | None  # None with fewer than two shared queries

    @property
    def same_data(self) -> bool:
        """Both runs carry the same dataset fingerprint (unknown fingerprints count as same)."""
        return not (self.base.fingerprint and self.new.fingerprint) or (
            self.base.fingerprint == self.new.fingerprint
        )

    @property
    def drop(self) -> float:
        """How far the mean fell from base to new over the shared queries (negative: it rose)."""
        if not self.rows:
            return 0.0
        return sum(r.a - r.b for r in self.rows) / len(self.rows)

    @property
    def regressed(self) -> list[QueryDiff]:
        """The queries that got worse, worst first."""
        return [r for r in self.rows if r.change is Change.REGRESSED]

    def fails(self, margin: float) -> bool:
        """True when the mean dropped by more than `margin` (the CI gate)."""
        return self.drop > margin + 1e-12

    def summary(self, limit: int = 10) -> str:
        """Plain text: the means, the paired test, the counts and the regressed queries."""
        n = counts(self.rows)
        k = self.new.k
        mean_a = sum(r.a for r in self.rows) / max(1, len(self.rows))
        head = (
            f"compared with run {self.base.run_id} ({self.base.dataset}, {self.base.saved_at}): "
            f"{self.method} {self.metric}@{k} {mean_a:.4f} -> {mean_a - self.drop:.4f} "
            f"on {len(self.rows)} shared queries"
        )
        tally = (
            f"{n[Change.IMPROVED]} improved, {n[Change.REGRESSED]} regressed, "
            f"{n[Change.SAME]} unchanged"
        )
        lines = [head, tally]
        if self.test is not None:
            lines.append(self.test.sentence(4))
        if not self.same_data:
            lines.append("warning: the runs are on different data (dataset fingerprints differ)")
        lines += [f"  ▼ {r.delta:+.4f}  {r.id}  {r.text[:70]}" for r in self.regressed[:limit]]
        if len(self.regressed) > limit:
            lines.append(f"  … and {len(self.regressed) - limit} more")
        return "\n".join(lines)


def compare_runs(
    base: EvaluationReport, new: EvaluationReport, method: str = "hybrid", metric: str = "ndcg"
) -> RunComparison:
    """Per-query diff of one method from a base run to a new run, with a paired test."""
    for label, report in (("base", base), ("new", new)):
        if method not in report.methods:
            raise DatasetError(f"the {label} run has no '{method}' results")
    rows = diff(Side.of(base, method, f"{base.run_id}"), Side.of(new, method, "new"), metric)
    test = None
    if len(rows) >= 2:
        test = paired_test("new", [r.b for r in rows], "base", [r.a for r in rows], metric)
    return RunComparison(base, new, method, metric, tuple(rows), test)
