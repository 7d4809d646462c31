"""The prompt-cost calculator: saving, payback and break-even, worked by hand."""

from __future__ import annotations

import pytest

from lib.decision.cost import DAYS_PER_MONTH, PRICES, CostInputs, calculate, saving_curve


def inputs(**kw) -> CostInputs:
    base = dict(
        requests_per_day=1000,
        prompt_tokens=1000,
        removed_tokens=200,
        before_per_m=2.50,
        after_per_m=0.30,
        one_off_usd=600.0,
        horizon_months=12,
    )
    return CostInputs(**{**base, **kw})


def test_saving_payback_and_break_even_by_hand():
    r = calculate(inputs())
    before, after = 1000 * 2.50 / 1e6, 800 * 0.30 / 1e6  # per request
    assert r.saving_per_request_usd == pytest.approx(before - after)
    assert r.monthly_before_usd == pytest.approx(before * 1000 * DAYS_PER_MONTH, abs=1e-3)
    assert r.monthly_saving_usd == pytest.approx((before - after) * 1000 * DAYS_PER_MONTH, abs=1e-3)
    assert r.payback_months == pytest.approx(600 / ((before - after) * 1000 * DAYS_PER_MONTH))
    volume = 600 / ((before - after) * DAYS_PER_MONTH * 12)
    assert r.break_even_requests_per_day == pytest.approx(volume)
    # at the break-even volume, the horizon's saving equals the one-off cost
    at_be = calculate(inputs(requests_per_day=volume))
    assert at_be.monthly_saving_usd * 12 == pytest.approx(600, rel=1e-3)


def test_a_pricier_fine_tuned_model_never_pays_back():
    same = next(p for p in PRICES if p.model == "gpt-4o-mini")
    r = calculate(inputs(before_per_m=same.base_per_m, after_per_m=same.fine_tuned_per_m))
    assert r.monthly_saving_usd < 0
    assert r.payback_months is None and r.break_even_requests_per_day is None


def test_nothing_removed_same_price_saves_nothing():
    r = calculate(inputs(removed_tokens=0, after_per_m=2.50))
    assert r.monthly_saving_usd == 0 and r.payback_months is None


@pytest.mark.parametrize(
    "bad",
    [
        dict(removed_tokens=1001),
        dict(removed_tokens=-1),
        dict(requests_per_day=-1),
        dict(one_off_usd=-5),
        dict(horizon_months=0),
        dict(after_per_m=-0.1),
    ],
)
def test_impossible_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        inputs(**bad)


def test_curve_spans_past_break_even_and_is_linear():
    c = inputs()
    curve = saving_curve(c)
    be = calculate(c).break_even_requests_per_day
    assert curve[0] == (0.0, 0.0) and curve[-1][0] >= 2 * be
    slope = calculate(c).saving_per_request_usd * DAYS_PER_MONTH * 12
    assert all(y == pytest.approx(x * slope) for x, y in curve)


def test_price_table_is_dated_and_fine_tuned_costs_more():
    from lib.decision.cost import PRICES_DATE

    assert PRICES_DATE[:4].isdigit()
    assert all(p.fine_tuned_per_m > p.base_per_m > 0 and p.training_per_m > 0 for p in PRICES)


def test_training_prices_come_from_the_fine_tune_table():
    from lib.decision.cost import training_price
    from lib.finetune.dataset import PRICES_USD_PER_M

    assert training_price("gpt-4o-mini") == PRICES_USD_PER_M["gpt-4o-mini-2024-07-18"]
    assert training_price("gpt-4.1") == PRICES_USD_PER_M["gpt-4.1-2025-04-14"]
