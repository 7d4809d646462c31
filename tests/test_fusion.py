"""Fusion maths with numbers worked out by hand in the comments."""

from __future__ import annotations

import pytest

from lib.retrieval.fusion import (
    FusionMode,
    FusionSettings,
    Normalization,
    UnknownModeError,
    dedupe,
    fuse,
    normalize,
    rrf,
    weighted,
)
from lib.types import RagLabError

VECTOR = [("a", 0.9), ("b", 0.7), ("c", 0.5)]
KEYWORD = [("c", 8.0), ("a", 6.0), ("d", 2.0)]


def test_rrf_by_hand() -> None:
    # a: 1/61 + 1/62 = 0.0163934 + 0.0161290 = 0.0325224
    # c: 1/63 + 1/61 = 0.0158730 + 0.0163934 = 0.0322664
    # b: 1/62 = 0.0161290 ; d: 1/63 = 0.0158730
    fused = rrf([VECTOR, KEYWORD], k=60)
    assert [cid for cid, _ in fused] == ["a", "c", "b", "d"]
    assert [s for _, s in fused] == pytest.approx(
        [0.0325224, 0.0322664, 0.0161290, 0.0158730], abs=1e-7
    )


def test_rrf_k_zero_and_depth() -> None:
    # k=0, depth=1: only 'a' (vector #1) and 'c' (keyword #1), each 1/1 = 1.0; tie -> earlier list
    assert rrf([VECTOR, KEYWORD], k=0, depth=1) == [("a", 1.0), ("c", 1.0)]


def test_rrf_ties_prefer_better_rank_then_earlier_list() -> None:
    # x: vector #2 -> 1/62; y: keyword #2 -> 1/62; v1 and k1 at 1/61
    fused = rrf([[("v1", 1), ("x", 1)], [("k1", 1), ("y", 1)]])
    assert [cid for cid, _ in fused] == ["v1", "k1", "x", "y"]


def test_rrf_dedupes_within_a_list() -> None:
    # 'a' counted once at rank 1 (1/61); 'b' moves up to rank 2 (1/62)
    fused = rrf([[("a", 3), ("a", 2), ("b", 1)]])
    assert dict(fused) == pytest.approx({"a": 1 / 61, "b": 1 / 62})
    assert [cid for cid, _ in fused] == ["a", "b"]


def test_weighted_minmax_by_hand() -> None:
    # vector minmax: a 1.0, b 0.5, c 0.0 ; keyword: c 1.0, a (6-2)/6 = 0.6667, d 0.0
    # alpha 0.5: a .5 + .3333 = .8333 ; c 0 + .5 = .5 ; b .25 + 0 = .25 ; d 0
    fused = weighted([VECTOR, KEYWORD], [0.5, 0.5])
    assert [cid for cid, _ in fused] == ["a", "c", "b", "d"]
    assert [s for _, s in fused] == pytest.approx([0.833333, 0.5, 0.25, 0.0], abs=1e-6)


def test_weighted_alpha_moves_the_balance() -> None:
    # alpha 0.2 (keyword-heavy): a .2 + .8*.6667 = .7333 ; c .8 ; b .1 ; d 0
    fused = fuse(VECTOR, KEYWORD, FusionSettings(mode="weighted", alpha=0.2, normalization="minmax"))
    assert [cid for cid, _ in fused] == ["c", "a", "b", "d"]
    assert [s for _, s in fused] == pytest.approx([0.8, 0.733333, 0.1, 0.0], abs=1e-6)


def test_weighted_zscore_by_hand() -> None:
    # vector mean .7, std sqrt(.08/3)=.163299: a 1.224745, b 0, c -1.224745
    # keyword mean 16/3, std sqrt(((8/3)^2+(2/3)^2+(10/3)^2)/3)=2.494438:
    #   c 1.069045, a .267261, d -1.336306
    # missing -> the list's minimum: b's keyword = -1.336306, d's vector = -1.224745
    fused = weighted([VECTOR, KEYWORD], [0.5, 0.5], normalization="zscore")
    expected = {
        "a": 0.5 * 1.224745 + 0.5 * 0.267261,  # 0.746003
        "c": 0.5 * -1.224745 + 0.5 * 1.069045,  # -0.077850
        "b": 0.5 * 0.0 + 0.5 * -1.336306,  # -0.668153
        "d": 0.5 * -1.224745 + 0.5 * -1.336306,  # -1.280526
    }
    assert [cid for cid, _ in fused] == ["a", "c", "b", "d"]
    assert dict(fused) == pytest.approx(expected, abs=1e-5)


def test_normalize_edge_cases() -> None:
    assert normalize([]).size == 0
    assert list(normalize([3.0, 3.0])) == [1.0, 1.0]
    assert list(normalize([3.0], "zscore")) == [0.0]
    assert list(normalize([2.0, 4.0, 3.0])) == [0.0, 1.0, 0.5]


def test_fuse_with_an_empty_side_keeps_the_other_order() -> None:
    for mode in FusionMode:
        fused = fuse(VECTOR, [], FusionSettings(mode=mode))
        assert [cid for cid, _ in fused] == ["a", "b", "c"]
        assert fuse([], [], FusionSettings(mode=mode)) == []


def test_depth_limits_each_side() -> None:
    fused = fuse(VECTOR, KEYWORD, FusionSettings(depth=2))
    assert {cid for cid, _ in fused} == {"a", "b", "c"}  # 'd' is keyword #3


def test_dedupe_keeps_first() -> None:
    assert dedupe([("x", 2.0), ("y", 1.0), ("x", 0.5)]) == [("x", 2.0), ("y", 1.0)]


@pytest.mark.parametrize("raw", ["RRF", " weighted ", "rrf"])
def test_mode_from_str(raw: str) -> None:
    assert FusionMode.from_str(raw).value == raw.strip().lower()


def test_unknown_mode_error_lists_valid_modes() -> None:
    with pytest.raises(UnknownModeError) as err:
        FusionMode.from_str("borda")
    assert err.value.reason == "Unknown fusion mode 'borda'. Supported: rrf, weighted."
    with pytest.raises(UnknownModeError, match="minmax, zscore"):
        Normalization.from_str("l2")


@pytest.mark.parametrize(
    "kwargs", [{"alpha": 1.5}, {"alpha": -0.1}, {"depth": 0}, {"rrf_k": -1}, {"mode": "x"}]
)
def test_settings_validate(kwargs: dict) -> None:
    with pytest.raises(RagLabError):
        FusionSettings(**kwargs)


def test_weighted_exact_scores_the_union_by_hand() -> None:
    from lib.retrieval.fusion import weighted_exact

    # vector: mean .5, std .326599 -> a 1.224745, b 0, c -1.224745
    # keyword: mean 2, std .816497 -> a -1.224745, b 1.224745, c 0
    fused = weighted_exact({"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 1.0, "b": 3.0, "c": 2.0}, 0.5)
    assert [cid for cid, _ in fused] == ["b", "a", "c"]
    assert [s for _, s in fused] == pytest.approx([0.612372, 0.0, -0.612372], abs=1e-6)
    # a chunk one retriever scores 0 (shares no term) keeps its real 0, not a guessed floor
    fused = weighted_exact({"a": 0.9, "b": 0.1}, {"b": 5.0}, 1.0, normalization="minmax")
    assert fused == [("a", 1.0), ("b", 0.0)]
    assert weighted_exact({}, {}, 0.5) == []
