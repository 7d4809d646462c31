"""LoRA training of SmolLM2-135M-Instruct on CPU (torch + transformers + peft).

Imported only by the training subprocess and scripts: the app itself never loads torch.
Recipe measured in ../shared/OFFLINE_MODELS.md: r=8, alpha 16, q/k/v/o, AdamW lr 2e-3,
batch 4, loss on assistant tokens only, 2 threads (~1.5 s per step on short examples).
"""

from __future__ import annotations

import importlib.util
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.config import PROJECT_ROOT
from lib.types import RagLabError

# OpenMP threads spin while they wait by default. On a busy 2-core machine a spinning
# thread steals the core its sibling needs: measured 6-8x slower forward passes under
# load; passive waiting costs nothing visible when the machine is idle. Must be set
# before torch is first imported (torch is imported lazily below).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TRAIN_MODULES = ("torch", "transformers", "peft", "gguf", "safetensors")
CACHE_DIR = PROJECT_ROOT / ".cache" / "models"
FP32_NAME = "smollm2-135m-instruct-fp32"
IGNORE = -100  # label value the loss skips (prompt and padding tokens)
# A step (batch 4) costs about this many seconds per token of the mean example, on an idle
# 2-core machine: 5.6 s/step at ~267 tokens per example (the bundled set, from bench/train.py's
# CPU time). Assumed proportional to length (attention is small at these lengths).
SECONDS_PER_STEP_PER_TOKEN = 0.021


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one LoRA run (recorded with the adapter)."""

    steps: int = 60
    lr: float = 2e-3
    batch_size: int = 4
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.0
    seed: int = 0
    max_len: int = 768  # the longest bundled example is ~630 tokens: never cut an answer
    threads: int = 2
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.rank < 1:
            raise RagLabError("Steps, batch size and rank must be at least 1.")
        if not 0 < self.lr < 1:
            raise RagLabError("The learning rate must be between 0 and 1.")


def default_steps(n_examples: int, batch_size: int = TrainConfig.batch_size) -> int:
    """About two epochs, kept within 10..200 steps (30 when there is no dataset yet)."""
    if not n_examples:
        return 30
    return max(10, min(200, math.ceil(2 * n_examples / batch_size)))


def estimate_seconds(steps: int, mean_tokens: float) -> float:
    """Training time (loading excluded) on an idle 2-core machine."""
    return steps * SECONDS_PER_STEP_PER_TOKEN * mean_tokens


@dataclass
class TrainOutcome:
    """What a run produced: the PEFT model, its loss history and how long it took."""

    model: Any
    losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    load_seconds: float = 0.0
    cancelled: bool = False


def missing_modules() -> list[str]:
    """Training packages that are not installed (empty = local training is possible)."""
    return [m for m in TRAIN_MODULES if importlib.util.find_spec(m) is None]


def require_training_stack() -> None:
    """Raise a one-line reason when the training extra is missing."""
    missing = missing_modules()
    if missing:
        raise RagLabError(f"Local training needs {', '.join(missing)}: run `make train-deps`.")


def _gguf_location() -> tuple[Path, str]:
    """The shipped Q4_1 file: the model's original weights (the served Q8_0 copy is derived
    from it), so `make adapter` trains from the same weights on every machine."""
    from lib.generation.model_files import shipped_model_path

    path = shipped_model_path()
    return path.parent, path.name


def load_base(cache_dir: Path = CACHE_DIR) -> tuple[Any, Any]:
    """(model, tokenizer) in fp32: from the cache, else dequantised from the shipped GGUF.

    Loading the GGUF takes ~15 s; the saved fp32 copy (517 MB) reloads in ~0.2 s.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cached = cache_dir / FP32_NAME
    if not (cached / "config.json").is_file():
        _convert_gguf(cached)
    tokenizer = AutoTokenizer.from_pretrained(cached)
    model = AutoModelForCausalLM.from_pretrained(cached, dtype="float32")
    return model, tokenizer


def _convert_gguf(target: Path) -> None:
    """Dequantise the shipped Q4_1 GGUF once and save it as an fp32 HF folder (atomic)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = _gguf_location()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # save_pretrained refuses "quantized with gguf" models; the weights are plain fp32 now.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if target.exists():  # another process won the race: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)


def encode(
    tokenizer: Any, messages: Sequence[dict[str, str]], max_len: int
) -> tuple[list[int], list[int]]:
    """Token ids of a chat and labels that keep only the assistant turns (+ their end marker)."""
    ids: list[int] = []
    labels: list[int] = []
    done = ""
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            head = tokenizer.apply_chat_template(
                list(messages[:i]), tokenize=False, add_generation_prompt=True
            )
            _append(tokenizer, head, done, ids, labels, learn=False)
            done = head
        text = tokenizer.apply_chat_template(list(messages[: i + 1]), tokenize=False)
        _append(tokenizer, text, done, ids, labels, learn=message["role"] == "assistant")
        done = text
    return ids[:max_len], labels[:max_len]


def _append(
    tokenizer: Any, text: str, done: str, ids: list[int], labels: list[int], learn: bool
) -> None:
    """Tokenise the new tail of the rendered chat; label it only when it is learned."""
    if not text.startswith(done):
        raise RagLabError("The chat template does not render turns incrementally.")
    new = tokenizer(text[len(done) :], add_special_tokens=False)["input_ids"]
    ids.extend(new)
    labels.extend(new if learn else [IGNORE] * len(new))


def _batches(lengths: Sequence[int], batch_size: int, seed: int):
    """Endless mini-batches of example indices, a fresh seeded shuffle each epoch.

    Within each window of 4 batches, examples are grouped by length: padding to the
    longest in a batch is pure waste on a CPU (~20% of a step with random batches).
    """
    rng = random.Random(seed)
    n = len(lengths)
    usable = n - n % batch_size or n
    while True:
        order = list(range(n))
        rng.shuffle(order)
        order = order[:usable]
        window = 4 * batch_size
        batches = []
        for w in range(0, len(order), window):
            group = sorted(order[w : w + window], key=lambda i: lengths[i])
            batches += [group[b : b + batch_size] for b in range(0, len(group), batch_size)]
        rng.shuffle(batches)
        yield from batches


def _collate(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = [r[0] + [pad_id] * (width - len(r[0])) for r in rows]
    labels = [r[1] + [IGNORE] * (width - len(r[1])) for r in rows]
    mask = [[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def batch_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean next-token loss over the learned (assistant) tokens only.

    Same value as the model's own `labels=` loss, but the 49k-wide output layer runs
    only where a token is learned (~1/4 of positions): ~20% less time per step.
    """
    import torch.nn.functional as F

    inner = model.get_base_model()
    hidden = inner.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    logits = inner.lm_head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), labels[keep])


def train_lora(
    examples: Sequence[dict[str, Any]],
    config: TrainConfig,
    progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    cache_dir: Path = CACHE_DIR,
) -> TrainOutcome:
    """Train a LoRA adapter; `progress` gets {"phase"...} and {"step", "loss"} events."""
    import torch
    from peft import LoraConfig, get_peft_model

    report = progress or (lambda _e: None)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    report({"phase": "loading"})
    base, tokenizer = load_base(cache_dir)
    rows = [encode(tokenizer, e["messages"], config.max_len) for e in examples]
    rows = [r for r in rows if any(label != IGNORE for label in r[1])]
    if not rows:
        raise RagLabError("No example has an assistant answer within the length limit.")
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.targets),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora)
    model.train()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    outcome = TrainOutcome(model=model, load_seconds=time.perf_counter() - t0)
    report({"phase": "training", "total": config.steps, "load_seconds": outcome.load_seconds})
    batches = _batches([len(r[0]) for r in rows], min(config.batch_size, len(rows)), config.seed)
    t1 = time.perf_counter()
    for step in range(1, config.steps + 1):
        if should_stop():
            outcome.cancelled = True
            break
        loss = batch_loss(model, _collate([rows[i] for i in next(batches)], pad_id))
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        outcome.losses.append((step, float(loss.item())))
        report(
            {
                "step": step,
                "total": config.steps,
                "loss": float(loss.item()),
                "elapsed": time.perf_counter() - t1,
            }
        )
    outcome.seconds = time.perf_counter() - t1
    model.eval()
    return outcome
