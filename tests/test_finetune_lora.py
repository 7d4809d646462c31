"""Torch-free parts of lib.finetune.lora: the default step count and the training-time estimate."""

from __future__ import annotations

import pytest

from lib.finetune.lora import SECONDS_PER_STEP_PER_TOKEN, default_steps, estimate_seconds


def test_default_steps_is_about_two_epochs_within_bounds():
    assert default_steps(0) == 30  # no dataset yet
    assert default_steps(3) == 10  # never fewer than 10
    assert default_steps(90) == 45  # 2 × 90 / batch 4, rounded up
    assert default_steps(91) == 46
    assert default_steps(5000) == 200  # never more than 200
    assert default_steps(90, batch_size=2) == 90


def test_estimate_matches_the_measured_step_time():
    # bench/train.py: 5.6 s per step at ~267 tokens per example on an idle 2-core machine
    assert estimate_seconds(1, 267) == pytest.approx(5.6, abs=0.05)
    assert estimate_seconds(60, 267) == pytest.approx(60 * 267 * SECONDS_PER_STEP_PER_TOKEN)
    assert estimate_seconds(10, 0) == 0
