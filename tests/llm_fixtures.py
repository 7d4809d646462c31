"""Shared real local-model helpers for the LLM tests (not a fake: llama.cpp really runs).

- `shared_server()`: one real SmolLM2 server per test process (started on first use,
  stopped at exit; it also exits by itself if pytest dies).
- `adopt_into(data_dir)`: record that server in `<data_dir>/run/llm_server.json`, so the
  app's own manager for `data_dir` reuses it, exactly as a restarted app would.
- `make_lora(path)`: a small random LoRA adapter in llama.cpp's GGUF format, so adapter
  loading and per-request scales are tested even before a trained adapter ships.
"""

from __future__ import annotations

import atexit
import json
import tempfile
from pathlib import Path

import numpy as np

from lib.generation.local_server import INFO_FILE, LocalServer
from lib.generation.models import adapter_paths

_SERVER: LocalServer | None = None
N_LAYERS, HIDDEN, KV = 30, 576, 192  # SmolLM2-135M: 30 blocks, 9 heads x 64, 3 kv heads x 64


def shared_server() -> LocalServer:
    """The session's real local server, with every shipped adapter loaded (as the app does)."""
    global _SERVER
    if _SERVER is None:
        server = LocalServer(Path(tempfile.mkdtemp(prefix="raglab-llm-")), watch_parent=True)
        server.ensure(adapter_paths(None))
        atexit.register(server.stop)
        _SERVER = server
    return _SERVER


def adopt_into(data_dir: Path) -> LocalServer:
    """Make `data_dir`'s manager find the shared server (the cross-process reuse path)."""
    server = shared_server()
    run = Path(data_dir) / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / INFO_FILE).write_text(json.dumps(server._info), encoding="utf-8")
    return server


def make_lora(path: Path, rank: int = 4, strength: float = 0.5, seed: int = 0) -> Path:
    """A random LoRA on q and v of every block: loads in llama.cpp and changes the output."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    for i in range(N_LAYERS):
        for name, out in (("attn_q", HIDDEN), ("attn_v", KV)):
            a = rng.normal(0, 1 / np.sqrt(HIDDEN), (rank, HIDDEN)).astype(np.float32)
            b = rng.normal(0, strength, (out, rank)).astype(np.float32)
            writer.add_tensor(f"blk.{i}.{name}.weight.lora_a", a)
            writer.add_tensor(f"blk.{i}.{name}.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
