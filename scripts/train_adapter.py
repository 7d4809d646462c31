"""Train the shipped LoRA adapter (adapters/orbit-style.gguf + .json) from the bundled dataset.

Reproducible: fixed seed, steps and data (its hash is recorded). `make adapter` runs it.
    .venv/bin/python scripts/train_adapter.py [--steps N] [--seed S] [--no-verify]
Then verifies with the real local server (adapter loaded at scale 0, per-request scale
1 vs 0) that the answers change and the style markers appear at scale 1.
Needs the training extra (`make train-deps`). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lib  # noqa: E402,F401  (offline env first)
from lib.finetune.dataset import BUNDLED_DATASET, load_jsonl  # noqa: E402
from lib.finetune.lora import TrainConfig, require_training_stack  # noqa: E402
from lib.finetune.registry import SHIPPED_DIR, SHIPPED_NAME  # noqa: E402
from lib.finetune.train_local import run_training  # noqa: E402

STEPS = 80  # ~1.8 epochs of the 181 bundled examples at batch 4 (the shipped adapter)
SEED = 0
VERIFY_QUESTIONS = [
    "How do I freeze my card?",
    "Can I lose money in a savings account?",
    "What is the Open Banking API?",
]


def verify(adapter: Path) -> dict[str, object]:
    """Answers at scale 0 vs 1 from the real local server; style markers counted."""
    from lib.compare.style import score
    from lib.generation.chat_model import ChatModel
    from lib.generation.client import ChatOptions
    from lib.generation.local_server import LocalServer
    from lib.generation.models import LOCAL_MODEL_ID, ModelSpec
    from lib.generation.rag import PLAIN_SYSTEM_PROMPT

    with tempfile.TemporaryDirectory() as tmp:
        server = LocalServer(Path(tmp), watch_parent=True)
        try:
            server.ensure([adapter])
            rows = []
            for q in VERIFY_QUESTIONS:
                msgs = [
                    {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
                    {"role": "user", "content": q},
                ]
                out = {}
                for scale in (0.0, 1.0):
                    spec = ModelSpec(
                        "v", "local", LOCAL_MODEL_ID, adapter=str(adapter), adapter_scale=scale
                    )
                    model = ChatModel(spec, server=server, data_dir=Path(tmp))
                    text, _ = model.complete(msgs, ChatOptions(max_tokens=120))
                    out[scale] = text
                    card = score(text, [], q, context_given=False)
                    print(
                        f"  scale {scale:.0f} | style {card.style_passed}/{card.style_applicable} | {text[:160]!r}"
                    )
                rows.append(out)
        finally:
            server.stop()
    changed = sum(r[0.0] != r[1.0] for r in rows)
    markers = sum(r[1.0].strip().startswith("Thanks for your question.") for r in rows)
    return {"answers_changed": changed, "opening_at_scale_1": markers, "questions": len(rows)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--dataset", type=Path, default=BUNDLED_DATASET)
    ap.add_argument("--out-dir", type=Path, default=SHIPPED_DIR)
    ap.add_argument("--name", default=SHIPPED_NAME)
    ap.add_argument("--no-verify", action="store_true")
    args = ap.parse_args()
    require_training_stack()
    examples = load_jsonl(args.dataset)
    config = TrainConfig(steps=args.steps, seed=args.seed)
    print(
        f"Training {args.name}: {len(examples)} examples, {config.steps} steps, seed {config.seed}"
    )
    started = time.perf_counter()

    def progress(event: dict) -> None:
        if "phase" in event:
            print(f"  {event['phase']}…", flush=True)
        elif event["step"] % 5 == 0 or event["step"] == 1:
            print(
                f"  step {event['step']:>3}/{event['total']}  loss {event['loss']:.3f}  "
                f"{event['elapsed']:.0f} s",
                flush=True,
            )

    record = run_training(examples, config, args.out_dir, args.name, "Orbit style (LoRA)", progress)
    assert record is not None
    total = time.perf_counter() - started
    gguf = args.out_dir / record.adapter
    print(
        f"Wrote {gguf} ({gguf.stat().st_size / 1e6:.1f} MB) and {args.name}.json: "
        f"loss {record.hyperparameters['first_loss']} -> {record.final_loss}, "
        f"{record.seconds:.0f} s training ({record.steps / record.seconds:.2f} steps/s)"
    )
    result: dict[str, object] = {
        "adapter": str(gguf),
        "steps": record.steps,
        "seed": record.seed,
        "dataset_hash": record.dataset_hash,
        "final_loss": record.final_loss,
        "train_seconds": record.seconds,
        "total_seconds": round(total, 1),
        "steps_per_s": round(record.steps / record.seconds, 3),
    }
    if not args.no_verify:
        print("Verifying with the local server (scale 0 vs 1):")
        result["verify"] = verify(gguf)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
