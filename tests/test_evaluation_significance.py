"""Paired significance tests on known inputs (exact cases, a textbook example, scipy as referee)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lib.evaluation.significance import (
    all_pairs,
    bootstrap_ci,
    format_p,
    mcnemar_p,
    mean_ci,
    paired_test,
    randomization_p,
    wilcoxon_p,
)

# Hollander & Wolfe (1973) p. 29, the depression-scale example of scipy's wilcoxon docs:
# Hamilton scores at the first (x) and second (y) visit of nine patients.
X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


def test_identical_lists_give_p_one_and_a_zero_interval():
    a = [0.1, 0.5, 0.9, 0.3] * 10
    assert randomization_p(a, a) == 1.0
    assert wilcoxon_p(a, a) == 1.0
    assert bootstrap_ci(a, a) == (0.0, 0.0)
    t = paired_test("x", a, "y", a)
    assert t.p == 1.0 and not t.significant and t.verdict == "no clear difference"


def test_constant_shift_interval_excludes_zero():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 0.9, 40)
    a = b + 0.05
    low, high = bootstrap_ci(a, b)
    assert low == pytest.approx(0.05) and high == pytest.approx(0.05)
    t = paired_test("hybrid", a, "keyword", b)
    assert t.significant and t.verdict == "better" and t.p < 0.001
    assert t.sentence() == "hybrid − keyword = +0.05 [+0.05, +0.05], p < 0.001"


def test_exact_randomization_on_a_hand_computed_case():
    # five positive differences: only "all +" and "all -" reach |mean| >= observed -> 2/32
    assert randomization_p([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]) == pytest.approx(2 / 32)
    # zero differences do not count: the same five plus three ties
    assert randomization_p([1, 2, 3, 4, 5, 7, 7, 7], [0, 0, 0, 0, 0, 7, 7, 7]) == pytest.approx(
        2 / 32
    )


def test_textbook_paired_example_against_scipy():
    # Wilcoxon: scipy's documented one-sided p for this data is 0.01953125; two-sided doubles it
    assert wilcoxon_p(X, Y) == pytest.approx(2 * 0.01953125)
    # sign-flip randomization test of the mean: 9 pairs -> exact over 512 patterns,
    # which scipy's permutation_test also enumerates
    ref = stats.permutation_test(
        (np.array(X), np.array(Y)),
        lambda x, y: np.mean(x - y),
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,
    )
    assert randomization_p(X, Y) == pytest.approx(ref.pvalue, abs=1e-9)


def test_monte_carlo_randomization_is_seeded_and_close_to_a_t_test():
    rng = np.random.default_rng(7)
    b = rng.uniform(0, 1, 200)
    a = b + rng.normal(0.02, 0.15, 200)
    p1, p2 = randomization_p(a, b), randomization_p(a, b)
    assert p1 == p2  # deterministic
    assert p1 == pytest.approx(stats.ttest_rel(a, b).pvalue, abs=0.03)
    assert bootstrap_ci(a, b) == bootstrap_ci(a, b)
    assert bootstrap_ci(a, b, seed=1) != bootstrap_ci(a, b, seed=2)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_queries():
    rng = np.random.default_rng(3)
    small = rng.normal(0.03, 0.2, 30)
    large = rng.normal(0.03, 0.2, 3000)
    lo_s, hi_s = mean_ci(small)
    lo_l, hi_l = mean_ci(large)
    assert lo_s < np.mean(small) < hi_s and lo_l < np.mean(large) < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 5


def test_mcnemar_on_known_counts():
    # exact binomial: 10 vs 2 discordant -> 2 * P(X <= 2 | n=12, p=1/2) = 2 * 79/4096
    assert mcnemar_p(10, 2) == pytest.approx(2 * 79 / 4096)
    assert mcnemar_p(3, 3) == 1.0 and mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(0, 6) == pytest.approx(2 / 64)


def test_every_pair_is_oriented_best_first():
    scores = {"keyword": [0.2, 0.4, 0.3, 0.5], "hybrid": [0.6, 0.7, 0.5, 0.8], "vector": [0.3] * 4}
    pairs = all_pairs(scores)
    assert [(t.a, t.b) for t in pairs] == [
        ("hybrid", "keyword"),
        ("hybrid", "vector"),
        ("keyword", "vector"),
    ]
    assert all(t.diff >= 0 for t in pairs)


def test_p_formatting():
    assert format_p(0.0031) == "p = 0.003" and format_p(0.0004) == "p < 0.001"


def test_unpaired_lengths_are_refused():
    with pytest.raises(ValueError, match="length"):
        paired_test("a", [1, 2], "b", [1])
