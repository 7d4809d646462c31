"""Training figure: LoRA steps/s and seconds on the bundled style dataset (CPU, 2 threads).

    .venv/bin/python bench/train.py [--steps N]

Runs the shipped recipe (scripts/train_adapter.py: r=8, alpha 16, q/k/v/o, lr 2e-3,
batch 4) in-process, without writing an adapter. With fewer steps than the recipe the
recipe's time is extrapolated. The machine's load average is printed: on a shared 2-core
machine, steps/s drops in proportion. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import lib  # noqa: E402,F401
from lib.finetune.dataset import load_bundled, statistics  # noqa: E402
from lib.finetune.lora import TrainConfig, require_training_stack, train_lora  # noqa: E402


def main() -> int:
    from train_adapter import SEED, STEPS  # the shipped recipe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=STEPS, help=f"default: the recipe's {STEPS}")
    args = ap.parse_args()
    require_training_stack()
    examples = load_bundled()
    stats = statistics(examples, epochs=1)
    load_before = os.getloadavg()[0]
    cpu: dict[str, float] = {}

    def progress(event: dict) -> None:  # CPU time of the training loop only (no loading)
        if event.get("phase") == "training":
            cpu["start"] = time.process_time()

    started = time.perf_counter()
    outcome = train_lora(examples, TrainConfig(steps=args.steps, seed=SEED), progress)
    cpu_s = time.process_time() - cpu["start"]
    wall = time.perf_counter() - started
    steps = len(outcome.losses)
    per_step = outcome.seconds / steps
    # Busy machine: wall time is shared with other work, but CPU time is what the steps
    # cost. With 2 threads kept busy, an idle 2-core machine needs about CPU time / 2.
    idle_per_step = cpu_s / steps / 2
    result = {
        "bench": "train",
        "examples": len(examples),
        "mean_tokens_per_example": round(stats.mean_tokens, 1),
        "steps": steps,
        "batch_size": 4,
        "threads": 2,
        "load_seconds": round(outcome.load_seconds, 1),
        "train_seconds": round(outcome.seconds, 1),
        "wall_seconds": round(wall, 1),
        "steps_per_s": round(steps / outcome.seconds, 3),
        "seconds_per_step": round(per_step, 2),
        "recipe_steps": STEPS,
        "recipe_train_seconds_est": round(per_step * STEPS, 0),
        "cpu_seconds_per_step": round(cpu_s / steps, 2),
        "idle_seconds_per_step_est": round(idle_per_step, 2),
        "recipe_idle_seconds_est": round(idle_per_step * STEPS, 0),
        "first_loss": round(outcome.losses[0][1], 3),
        "last_loss": round(outcome.losses[-1][1], 3),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(
        f"LoRA on {len(examples)} examples (~{stats.mean_tokens:.0f} tokens each), batch 4, 2 threads:"
    )
    print(
        f"  model load {result['load_seconds']} s; {steps} steps in {result['train_seconds']} s "
        f"= {result['steps_per_s']} steps/s ({per_step:.2f} s/step)"
    )
    print(
        f"  the recipe's {STEPS} steps ≈ {result['recipe_train_seconds_est']:.0f} s here; "
        f"loss {result['first_loss']} -> {result['last_loss']}"
    )
    print(
        f"  CPU time {result['cpu_seconds_per_step']} s/step: on an idle 2-core machine "
        f"≈ {idle_per_step:.2f} s/step, {result['recipe_idle_seconds_est']:.0f} s for the recipe"
    )
    print(
        f"  load average {result['load_average_before']} -> {result['load_average_after']} "
        f"(2 cores: above 2, other work shares the CPU)"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
