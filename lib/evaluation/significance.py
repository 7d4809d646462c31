"""Paired significance tests on per-query scores (pure, seeded, deterministic).

Two methods (or two runs) scored on the same queries give paired samples; the question is
whether the mean of their per-query differences is real or noise. Three answers:
- a paired bootstrap 95% interval of the mean difference (resample queries with replacement);
- a paired randomization (sign-flip) test: under "no difference" each query's difference is
  as likely to be + as -; exact over all 2^n sign patterns when n is small;
- Wilcoxon's signed-rank test (scipy), the usual rank-based check.
McNemar's exact test covers paired yes/no outcomes (e.g. "states the fact").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 10_000  # bootstrap / randomization draws: the p-value's Monte Carlo error is < 0.005
SEED = 0  # fixed so the same scores always give the same interval and p-value
CONFIDENCE = 0.95
ALPHA = 0.05  # "significant" means p < ALPHA (two-sided)
EXACT_UP_TO = 13  # 2^13 = 8192 sign patterns: enumerate them instead of sampling
_BATCH = 1_000  # draws per numpy batch: keeps memory at 1000 x n floats
TIE = 1e-12  # differences smaller than this are float noise


def _diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d[np.abs(d) < TIE] = 0.0
    return d


def _batches(total: int) -> list[int]:
    return [min(_BATCH, total - i) for i in range(0, total, _BATCH)]


def bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a - b), resampling queries in pairs."""
    d = _diffs(a, b)
    if d.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = np.concatenate(
        [d[rng.integers(0, d.size, (n, d.size))].mean(axis=1) for n in _batches(resamples)]
    )
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def mean_ci(
    values: Sequence[float],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of one mean (a sweep point's band)."""
    return bootstrap_ci(values, [0.0] * len(values), resamples, confidence, seed)


def randomization_p(
    a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED
) -> float:
    """Two-sided paired randomization (sign-flip) test of mean(a - b) = 0.

    Exact for n <= EXACT_UP_TO; otherwise Monte Carlo with the (count + 1) / (draws + 1)
    correction, so a p-value is never 0. Identical lists give p = 1.
    """
    d = _diffs(a, b)
    nonzero = d[d != 0.0]  # a zero difference flips to itself: it cannot change the test
    if nonzero.size == 0:
        return 1.0
    observed = abs(nonzero.mean()) * (1 - 1e-12)  # tolerate float noise in equal means
    if nonzero.size <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=nonzero.size)))
        return float(np.mean(np.abs(signs @ nonzero / nonzero.size) >= observed))
    rng = np.random.default_rng(seed)
    hits = 0
    for n in _batches(resamples):
        signs = rng.choice((-1.0, 1.0), (n, nonzero.size))
        hits += int(np.sum(np.abs(signs @ nonzero / nonzero.size) >= observed))
    return (hits + 1) / (resamples + 1)


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value (scipy; zero differences dropped); 1.0 if all tie."""
    from scipy.stats import wilcoxon  # imported here: scipy.stats costs ~0.3 s to import

    d = _diffs(a, b)
    if not np.any(d != 0.0):
        return 1.0
    return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """McNemar's exact two-sided test from the discordant counts (binomial, p = 1/2)."""
    from scipy.stats import binomtest

    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(binomtest(only_a, n, 0.5, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class PairedTest:
    """a − b on paired per-query scores: mean difference, its interval and p-values."""

    a: str
    b: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p: float  # paired randomization test
    wilcoxon: float

    @property
    def significant(self) -> bool:
        """p < ALPHA and the interval excludes 0 (both must agree)."""
        return self.p < ALPHA and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def verdict(self) -> str:
        """"better", "worse" or "no clear difference" (a against b)."""
        if not self.significant:
            return "no clear difference"
        return "better" if self.diff > 0 else "worse"

    def sentence(self, digits: int = 2) -> str:
        """`hybrid − keyword = +0.05 [+0.02, +0.08], p = 0.003`."""
        f = f"{{:+.{digits}f}}"
        return (
            f"{self.a} − {self.b} = {f.format(self.diff)} "
            f"[{f.format(self.ci_low)}, {f.format(self.ci_high)}], {format_p(self.p)}"
        )


def format_p(p: float) -> str:
    """`p = 0.003`, or `p < 0.001` below what the draws can resolve."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def paired_test(
    a_name: str,
    a: Sequence[float],
    b_name: str,
    b: Sequence[float],
    metric: str = "ndcg",
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> PairedTest:
    """Bootstrap interval, randomization and Wilcoxon p-values of a − b."""
    d = _diffs(a, b)
    low, high = bootstrap_ci(a, b, resamples, seed=seed)
    return PairedTest(
        a_name,
        b_name,
        metric,
        int(d.size),
        float(np.mean(a)) if len(a) else 0.0,
        float(np.mean(b)) if len(b) else 0.0,
        float(d.mean()) if d.size else 0.0,
        low,
        high,
        randomization_p(a, b, resamples, seed),
        wilcoxon_p(a, b),
    )


def all_pairs(
    scores: Mapping[str, Sequence[float]], metric: str = "ndcg", resamples: int = RESAMPLES
) -> list[PairedTest]:
    """A paired test for every pair of methods, each oriented best-mean first (a − b ≥ 0)."""
    names = sorted(scores, key=lambda m: -float(np.mean(scores[m])) if len(scores[m]) else 0.0)
    return [
        paired_test(a, scores[a], b, scores[b], metric, resamples)
        for a, b in itertools.combinations(names, 2)
    ]
