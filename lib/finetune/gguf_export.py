"""Write a PEFT LoRA adapter as a llama.cpp GGUF LoRA (no converter ships in any wheel).

Layout llama.cpp expects: general.type "adapter", adapter.type "lora",
adapter.lora.alpha; tensors `blk.{i}.<tensor>.weight.lora_a|lora_b`. PEFT's arrays go in
untransposed — A as (r, in), B as (out, r) — because gguf-py reverses numpy shapes into
ggml order. Needs the `gguf` package (the training extra).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lib.types import RagLabError

# PEFT module name -> llama.cpp tensor name
TENSOR_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_PEFT_KEY = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])(?:\.\w+)?\.weight$")


def rotary_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order (rotary pairs interleaved per head), applied to lora_B.

    convert_hf_to_gguf permutes the base q/k weights this way and transformers undoes it
    when it loads a GGUF, so an adapter trained in HF layout must be permuted back.
    """
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def gguf_tensors(
    state: Mapping[str, Any], n_head: int, n_kv_head: int, dtype: type = np.float16
) -> dict[str, np.ndarray]:
    """PEFT state-dict arrays -> {gguf tensor name: array}, q/k lora_B permuted."""
    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        match = _PEFT_KEY.search(key)
        if not match:
            continue
        layer, module, ab = match.groups()
        if module not in TENSOR_NAMES:
            raise RagLabError(f"Cannot export a LoRA on {module} to GGUF.")
        arr = np.asarray(value, dtype=np.float32)
        if ab == "B" and module == "self_attn.q_proj":
            arr = rotary_permute(arr, n_head)
        elif ab == "B" and module == "self_attn.k_proj":
            arr = rotary_permute(arr, n_kv_head)
        out[f"blk.{layer}.{TENSOR_NAMES[module]}.weight.lora_{ab.lower()}"] = np.ascontiguousarray(
            arr.astype(dtype)
        )
    if not out:
        raise RagLabError("The adapter has no LoRA weights to export.")
    return out


def write_lora_gguf(
    path: Path,
    tensors: Mapping[str, np.ndarray],
    alpha: float,
    name: str = "adapter",
    arch: str = "llama",
) -> Path:
    """Write the adapter file (to a temp name first, so a crash leaves no half file)."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_name(name)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for tensor_name in sorted(tensors, key=_tensor_order):
        writer.add_tensor(tensor_name, tensors[tensor_name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def _tensor_order(name: str) -> tuple[int, str]:
    """Layer number first, so the file reads blk.0 .. blk.N like llama.cpp's own."""
    return int(name.split(".")[1]), name


def export_peft_model(model: Any, path: Path, name: str = "adapter") -> Path:
    """Export a trained peft.PeftModel's default adapter as f16 GGUF."""
    from peft import get_peft_model_state_dict

    cfg = model.peft_config["default"]
    base_cfg = model.get_base_model().config
    state = {
        k: v.detach().float().cpu().numpy() for k, v in get_peft_model_state_dict(model).items()
    }
    tensors = gguf_tensors(state, base_cfg.num_attention_heads, base_cfg.num_key_value_heads)
    return write_lora_gguf(path, tensors, cfg.lora_alpha, name=name)
