"""Build fine-tuning datasets: from chat feedback, from table rows (the page's editor), split.

Examples from feedback carry the prompt exactly as the chat built it (lib.generation.rag's system
prompt and numbered sources in the user turn), so the model learns the behaviour in
the same shape it will be asked in.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lib.chat.feedback import ContextSource, FeedbackRecord
from lib.finetune.dataset import Example
from lib.types import Chunk, Hit

COLUMNS = ("system", "user", "assistant", "earlier_turns")


@dataclass(frozen=True)
class FeedbackHarvest:
    """Examples made from feedback, and how many records were left out (and why)."""

    examples: tuple[Example, ...]
    from_thumbs_up: int
    from_corrections: int
    skipped_down: int  # thumbs down without a correction: nothing to learn from
    skipped_other: int  # abstained without a correction, or no question


def _hits(context: Iterable[ContextSource]) -> list[Hit]:
    """The sources the model saw, rebuilt as Hits (only what the prompt shows matters)."""
    return [Hit(Chunk(c.chunk_id, "", c.doc_name, c.page, c.section, 0, len(c.text), c.text),
                0.0, n, "feedback") for n, c in enumerate(context, 1)]


def feedback_prompt(question: str, context: Sequence[ContextSource]) -> list[dict[str, str]]:
    """System + user messages in the chat's own shape (grounded when there was context)."""
    from lib.generation.rag import build_messages

    return build_messages(question, _hits(context))


def from_feedback(records: Iterable[FeedbackRecord]) -> FeedbackHarvest:
    """Thumbs-up answers and user corrections become examples (a correction wins)."""
    examples: list[Example] = []
    up = corrected = down = other = 0
    for r in records:
        question = r.question.strip()
        correction = (r.correction or "").strip()
        if not question:
            other += 1
            continue
        if correction:
            target, corrected = correction, corrected + 1
        elif r.rating == "up" and not r.abstained:
            target, up = r.answer.strip(), up + 1
        elif r.rating == "down":
            down += 1
            continue
        else:
            other += 1
            continue
        messages = feedback_prompt(question, r.context if r.rag else ())
        examples.append({"messages": [*messages, {"role": "assistant", "content": target}]})
    return FeedbackHarvest(tuple(examples), up, corrected, down, other)


def to_rows(examples: Sequence[Example]) -> list[dict[str, str]]:
    """One editable row per example: system, last user turn, its answer, earlier turns (JSON)."""
    rows = []
    for e in examples:
        msgs = list(e["messages"])
        system = msgs.pop(0)["content"] if msgs and msgs[0]["role"] == "system" else ""
        last = max((i for i, m in enumerate(msgs) if m["role"] == "user"), default=0)
        after = [m["content"] for m in msgs[last + 1 :] if m["role"] == "assistant"]
        rows.append(
            {
                "system": system,
                "user": msgs[last]["content"] if msgs else "",
                "assistant": after[0] if after else "",
                "earlier_turns": json.dumps(msgs[:last], ensure_ascii=False) if last else "",
            }
        )
    return rows


def from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Examples from edited rows; blank rows dropped; bad cells left for validation to flag."""
    examples: list[Any] = []
    for row in rows:
        cells = {c: ("" if row.get(c) is None else str(row.get(c))) for c in COLUMNS}
        if not any(v.strip() for v in cells.values()):
            continue
        messages: list[Any] = []
        if cells["system"].strip():
            messages.append({"role": "system", "content": cells["system"]})
        if cells["earlier_turns"].strip():
            try:
                earlier = json.loads(cells["earlier_turns"])
            except ValueError:
                earlier = [{"role": "earlier_turns", "content": "not valid JSON"}]
            messages += earlier if isinstance(earlier, list) else [earlier]
        messages.append({"role": "user", "content": cells["user"]})
        messages.append({"role": "assistant", "content": cells["assistant"]})
        examples.append({"messages": messages})
    return examples


MIN_FOR_VALIDATION = 10


def split(
    examples: Sequence[Example], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """A seeded train/validation split; from MIN_FOR_VALIDATION examples on, at least one
    goes to validation (below that every example is worth more in training)."""
    if not 0 <= val_fraction < 1:
        raise ValueError("the validation share must be at least 0 and below 1")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = round(len(examples) * val_fraction)
    if val_fraction > 0 and len(examples) >= MIN_FOR_VALIDATION:
        n_val = max(1, n_val)
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return [examples[i] for i in train], [examples[i] for i in val]
