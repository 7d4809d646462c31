"""The prompt-cost calculator: tokens fine-tuning removes from each prompt vs its one-off cost.

Pure arithmetic. A fine-tuned model is billed at a higher price per input token than its
base, so shorter prompts do not always save money: the calculator says when they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.finetune.dataset import PRICES_USD_PER_M

DAYS_PER_MONTH = 30.4  # 365 / 12
# USD per 1M input tokens, base model and its fine-tuned version, as published on
# openai.com/api/pricing. Editable in the guide because prices move.
PRICES_DATE = "2025-06 (openai.com/api/pricing; check before you decide)"


@dataclass(frozen=True)
class Price:
    """Prices of one model in USD per 1M tokens: input (base and fine-tuned) and training."""

    model: str
    base_per_m: float
    fine_tuned_per_m: float
    training_per_m: float  # from lib.finetune.dataset.PRICES_USD_PER_M (the Fine-tune page's)


def training_price(model: str) -> float:
    """USD per 1M training tokens of a model's dated snapshot, from the Fine-tune page's table."""
    return next(v for k, v in PRICES_USD_PER_M.items() if k.startswith(f"{model}-20"))


PRICES: tuple[Price, ...] = (
    Price("gpt-4.1-nano", 0.10, 0.20, training_price("gpt-4.1-nano")),
    Price("gpt-4o-mini", 0.15, 0.30, training_price("gpt-4o-mini")),
    Price("gpt-4.1-mini", 0.40, 0.80, training_price("gpt-4.1-mini")),
    Price("gpt-4.1", 2.00, 3.00, training_price("gpt-4.1")),
    Price("gpt-4o", 2.50, 3.75, training_price("gpt-4o")),
)


@dataclass(frozen=True)
class CostInputs:
    """What the calculator needs; every figure is shown and editable in the guide."""

    requests_per_day: float
    prompt_tokens: int  # input tokens of one request today (system + sources + question)
    removed_tokens: int  # of those, what fine-tuning makes unnecessary (style instructions)
    before_per_m: float  # USD per 1M input tokens of the model used today
    after_per_m: float  # ... of the fine-tuned model (often a fine-tuned smaller one)
    one_off_usd: float  # training plus labelling: paid once
    horizon_months: int = 12  # the period the one-off cost is weighed against
    label: str = ""  # e.g. "gpt-4o-mini -> fine-tuned gpt-4o-mini", shown on the chart

    def __post_init__(self) -> None:
        if (
            min(self.requests_per_day, self.one_off_usd, self.before_per_m, self.after_per_m) < 0
            or self.horizon_months < 1
        ):
            raise ValueError("Requests, costs and the horizon cannot be negative.")
        if not 0 <= self.removed_tokens <= self.prompt_tokens:
            raise ValueError("Removed tokens must be between 0 and the prompt's tokens.")


@dataclass(frozen=True)
class CostResult:
    """Monthly prompt costs before and after, the saving, and when it pays back."""

    monthly_before_usd: float
    monthly_after_usd: float
    monthly_saving_usd: float  # negative: the fine-tuned model's higher price wins
    saving_per_request_usd: float
    payback_months: float | None  # None: it never pays back
    break_even_requests_per_day: float | None  # volume at which the horizon's saving = one-off


def per_request(tokens: int, per_m: float) -> float:
    return tokens * per_m / 1_000_000


def calculate(inputs: CostInputs) -> CostResult:
    """Monthly saving, payback time and the break-even daily volume."""
    before = per_request(inputs.prompt_tokens, inputs.before_per_m)
    after = per_request(inputs.prompt_tokens - inputs.removed_tokens, inputs.after_per_m)
    saving = before - after
    monthly = inputs.requests_per_day * DAYS_PER_MONTH
    monthly_saving = saving * monthly
    payback = inputs.one_off_usd / monthly_saving if monthly_saving > 0 else None
    volume = (
        inputs.one_off_usd / (saving * DAYS_PER_MONTH * inputs.horizon_months)
        if saving > 0
        else None
    )
    return CostResult(
        round(before * monthly, 4),
        round(after * monthly, 4),
        round(monthly_saving, 4),
        saving,
        payback,
        volume,
    )


def saving_curve(inputs: CostInputs, points: int = 40) -> tuple[tuple[float, float], ...]:
    """(requests/day, saving over the horizon) from 0 to past break-even (or 10x today)."""
    result = calculate(inputs)
    top = max(inputs.requests_per_day, result.break_even_requests_per_day or 0.0) * 2 or 1000.0
    per_day = result.saving_per_request_usd * DAYS_PER_MONTH * inputs.horizon_months
    return tuple((top * i / points, per_day * top * i / points) for i in range(points + 1))
