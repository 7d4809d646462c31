"""Which retrieval setting to use on one collection, from a run with a sweep (pure).

The default hybrid is kept unless the data say otherwise: it must lose to the better single
method, or to another sweep point, by a significant paired difference (not by noise).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lib.evaluation.report import SINGLE, EvaluationReport
from lib.evaluation.significance import PairedTest, paired_test
from lib.retrieval.fusion import FusionSettings


@dataclass(frozen=True)
class Recommendation:
    """Hybrid against the better single method, and what to use on this collection."""

    dataset: str
    best_single: str
    test: PairedTest  # hybrid − best single, per-query nDCG@k
    method: str  # "hybrid", or a single method when hybrid significantly loses
    fusion: FusionSettings | None  # the hybrid settings to use (None: a single method)
    changed: bool  # True when this differs from the run's settings
    reason: str

    @property
    def verdict(self) -> str:
        """"hybrid wins", "tie" or "hybrid loses" against the better single method."""
        if not self.test.significant:
            return "tie"
        return "hybrid wins" if self.test.diff > 0 else "hybrid loses"

    @property
    def summary(self) -> str:
        """`hybrid (weighted, alpha 0.3)` or `keyword`."""
        f = self.fusion
        if f is None:
            return self.method
        knob = f"RRF k {f.rrf_k}" if str(f.mode) == "rrf" else f"alpha {f.alpha:g}"
        return f"{self.method} ({f.mode}, {knob}, {f.normalization})"


def recommend(report: EvaluationReport) -> Recommendation | None:
    """The setting to use on the report's collection (None without hybrid and a single method)."""
    scores = report.per_query_scores("ndcg")
    singles = [m for m in SINGLE if m in report.methods]
    if "hybrid" not in report.methods or not singles or not report.queries:
        return None
    best = max(singles, key=lambda m: report.methods[m].ndcg)
    test = paired_test("hybrid", scores["hybrid"], best, scores[best])
    fusion = report.settings.fusion
    curve = report.sweep
    if curve is not None and curve.points:
        top = curve.best()
        current = next((p for p in curve.points if p.value == getattr(fusion, curve.key)
                        and str(fusion.mode) == curve.mode), None)
        # move only when the run's own setting is significantly worse than the sweep's best
        if current is None or current.near_best is False:
            knob = int(top.value) if curve.key == "rrf_k" else float(top.value)
            better = replace(fusion, mode=curve.mode, **{curve.key: knob})
            return Recommendation(
                report.dataset, best, test, "hybrid", better, True,
                f"On {report.dataset}, hybrid at {curve.key} {top.value:g} "
                f"(nDCG@{report.k} {top.metrics.ndcg:.3f}) is significantly better than the "
                f"current setting: use it ('Use these settings in the app').",
            )
    if test.significant and test.diff < 0:
        return Recommendation(
            report.dataset, best, test, best, None, True,
            f"On {report.dataset}, {best} alone beats hybrid ({test.sentence(3)}): "
            f"search with {best}, or sweep α to find a hybrid setting that ties it.",
        )
    word = "beats" if test.significant else "ties with"
    return Recommendation(
        report.dataset, best, test, "hybrid", fusion, False,
        f"On {report.dataset}, the current hybrid {word} the better single method, {best} "
        f"({test.sentence(3)}): keep it.",
    )
