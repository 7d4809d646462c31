"""Fine-tuning datasets in OpenAI's chat JSONL format: validation, statistics, cost, I/O.

One example per line: {"messages": [{"role": "system"|"user"|"assistant", "content": str}]}.
Errors and warnings carry the 1-based line number so a user can fix the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lib.config import SAMPLE_DOCS_DIR
from lib.io import atomic_write_text
from lib.types import RagLabError

Example = dict[str, Any]
TokenCounter = Callable[[str], int]

ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = {"role", "content", "name", "weight"}  # what OpenAI accepts on a chat message
DEFAULT_MAX_TOKENS = 2048  # the local server's context; OpenAI's limit is larger (65,536)
PER_MESSAGE_TOKENS = 4  # role + start/end markers around each message (OpenAI cookbook)
BUNDLED_DATASET = SAMPLE_DOCS_DIR / "finetune" / "orbit_style.jsonl"
MIN_OPENAI_EXAMPLES = 10  # OpenAI refuses smaller training files
FEW_EXAMPLES = 200  # OpenAI's guidance: "fewer than a few hundred rarely helps"
GOOD_START = 500  # ... and 500–2,000 is a reasonable start

# USD per 1M training tokens for OpenAI supervised fine-tuning, as published on
# openai.com/api/pricing; editable in the page because prices move.
PRICES_DATE = "2025-06 (openai.com/api/pricing; check before you spend)"
PRICES_USD_PER_M = {
    "gpt-4.1-nano-2025-04-14": 1.50,
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-3.5-turbo-0125": 8.00,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-4.1-2025-04-14": 25.00,
}


class DatasetError(RagLabError):
    """A dataset cannot be used (unreadable, or not one valid example)."""


@dataclass(frozen=True)
class Issue:
    """One problem in a dataset, tied to its 1-based line."""

    line: int
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Validation:
    """The valid examples of a file plus every error and warning found."""

    examples: tuple[Example, ...]
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.examples)


@dataclass(frozen=True)
class DatasetStats:
    """Size figures of a dataset and the tokens an OpenAI job would bill."""

    n_examples: int
    min_tokens: int
    mean_tokens: float
    max_tokens: int
    total_tokens: int
    epochs: int

    @property
    def billed_tokens(self) -> int:
        return self.total_tokens * self.epochs


def default_token_counter() -> TokenCounter:
    """An offline approximation of OpenAI's tokenizer (WordPiece counts run close)."""
    from lib.ingest.tokenizer import count_tokens

    return count_tokens


def example_tokens(example: Example, count: TokenCounter) -> int:
    """Tokens of one example: content plus a few framing tokens per message."""
    return sum(count(str(m.get("content") or "")) + PER_MESSAGE_TOKENS for m in example["messages"])


def _message_problem(message: Any) -> str | None:
    """Why one message is invalid (None when it is fine)."""
    if not isinstance(message, dict):
        return "a message is not a JSON object"
    role = message.get("role")
    if role is None:
        return "a message has no role"
    if role not in ROLES:
        return f"unknown role {role!r} (use system, user or assistant)"
    unknown = set(message) - MESSAGE_KEYS
    if unknown:
        return f"unknown message key {min(unknown)!r}"
    content = message.get("content")
    if not isinstance(content, str):
        return f"{role} message has no text content"
    if not content.strip():
        return f"{role} message is empty"
    return None


def example_problem(example: Any) -> str | None:
    """Why one example is invalid for chat fine-tuning (None when it is fine)."""
    if not isinstance(example, dict):
        return "not a JSON object"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return 'no "messages" list'
    for message in messages:
        problem = _message_problem(message)
        if problem:
            return problem
    if not any(m["role"] == "assistant" for m in messages):
        return "no assistant message (nothing to learn)"
    if not any(m["role"] == "user" for m in messages):
        return "no user message"
    return None


def canonical(example: Example) -> str:
    """One stable line for an example (sorted keys, no ASCII escaping)."""
    return json.dumps(example, ensure_ascii=False, sort_keys=True)


def validate_examples(
    items: Sequence[tuple[int, Any]],
    count: TokenCounter | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Validation:
    """Validate (line, parsed example) pairs: structure, duplicates, length, size warnings."""
    count = count or default_token_counter()
    good: list[Example] = []
    errors: list[Issue] = []
    seen: dict[str, int] = {}
    for line, example in items:
        problem = example_problem(example)
        if problem:
            errors.append(Issue(line, problem))
            continue
        key = canonical({"messages": example["messages"]})
        if key in seen:
            errors.append(Issue(line, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = line
        tokens = example_tokens(example, count)
        if tokens > max_tokens:
            errors.append(Issue(line, f"{tokens:,} tokens, over the {max_tokens:,}-token limit"))
            continue
        good.append({"messages": example["messages"]})
    return Validation(tuple(good), tuple(errors), tuple(size_warnings(len(good))))


def validate_jsonl(
    text: str, count: TokenCounter | None = None, max_tokens: int = DEFAULT_MAX_TOKENS
) -> Validation:
    """Parse and validate a JSONL file's text; every bad line gets a numbered error."""
    items: list[tuple[int, Any]] = []
    errors: list[Issue] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            items.append((number, json.loads(raw)))
        except json.JSONDecodeError as exc:
            errors.append(Issue(number, f"bad JSON ({exc.msg} at column {exc.colno})"))
    result = validate_examples(items, count, max_tokens)
    if not items and not errors:
        errors.append(Issue(0, "the file has no examples"))
    all_errors = sorted([*errors, *result.errors], key=lambda i: i.line)
    return Validation(result.examples, tuple(all_errors), result.warnings)


def size_warnings(n: int) -> list[Issue]:
    """OpenAI's guidance on dataset size, as warnings (the local demo is fine with ~100)."""
    if n == 0:
        return []
    if n < MIN_OPENAI_EXAMPLES:
        return [
            Issue(0, f"{n} examples: OpenAI refuses fewer than {MIN_OPENAI_EXAMPLES}.", "warning")
        ]
    if n < FEW_EXAMPLES:
        return [
            Issue(
                0,
                f"{n} examples: fewer than a few hundred rarely helps on OpenAI "
                f"(500–2,000 is a reasonable start); fine for the local demo.",
                "warning",
            )
        ]
    if n < GOOD_START:
        return [Issue(0, f"{n} examples: 500–2,000 is a reasonable start for OpenAI.", "warning")]
    return []


def default_epochs(n_examples: int) -> int:
    """OpenAI's "auto" epochs (cookbook): 3, raised for tiny sets, lowered for huge ones."""
    if n_examples <= 0:
        return 3
    if n_examples * 3 < 100:
        return min(25, 100 // n_examples)
    if n_examples * 3 > 25_000:
        return max(1, 25_000 // n_examples)
    return 3


def statistics(
    examples: Sequence[Example], epochs: int | None = None, count: TokenCounter | None = None
) -> DatasetStats:
    """Examples, tokens per example (min/mean/max), total tokens and epochs."""
    count = count or default_token_counter()
    sizes = [example_tokens(e, count) for e in examples] or [0]
    return DatasetStats(
        n_examples=len(examples),
        min_tokens=min(sizes),
        mean_tokens=sum(sizes) / len(sizes),
        max_tokens=max(sizes),
        total_tokens=sum(sizes),
        epochs=epochs if epochs is not None else default_epochs(len(examples)),
    )


def estimate_cost(stats: DatasetStats, usd_per_million: float) -> float:
    """USD an OpenAI job would cost: billed tokens (tokens × epochs) × price."""
    return stats.billed_tokens * usd_per_million / 1_000_000


def to_jsonl(examples: Sequence[Example]) -> str:
    """Examples as JSONL text (one line each, UTF-8 kept readable)."""
    return "".join(
        json.dumps({"messages": e["messages"]}, ensure_ascii=False) + "\n" for e in examples
    )


def dataset_hash(examples: Sequence[Example]) -> str:
    """A short, stable identity of a dataset's content (recorded with each adapter)."""
    return "sha256:" + hashlib.sha256(to_jsonl(examples).encode("utf-8")).hexdigest()[:16]


def load_jsonl(path: Path, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Example]:
    """A dataset file that must be valid (raises DatasetError with the first problem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {path.name}: {exc.__class__.__name__}.") from exc
    result = validate_jsonl(text, max_tokens=max_tokens)
    if not result.ok:
        first = result.errors[0] if result.errors else "no examples"
        raise DatasetError(f"{path.name} is not a valid dataset: {first}.")
    return list(result.examples)


def load_bundled() -> list[Example]:
    """The bundled Orbit Bank style dataset."""
    return load_jsonl(BUNDLED_DATASET)


def save_jsonl(path: Path, examples: Sequence[Example]) -> Path:
    """Write examples atomically (temp file, then rename)."""
    atomic_write_text(path, to_jsonl(examples))
    return path
