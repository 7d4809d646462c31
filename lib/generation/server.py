"""The local model server: llama.cpp (xllamacpp) serving SmolLM2 over an OpenAI-compatible API.

`python -m lib.generation.server` builds an `xllamacpp.Server` in *this* process and waits (until
SIGTERM/SIGINT, or until `--watch-pid` exits). Run by hand (`make serve-llm`) it serves any
OpenAI client at `<url>/v1`; the app runs it through `LocalServer` (lib/generation/local_server.py,
re-exported here), which starts, reuses, restarts and stops it. Model files come from
lib/generation/model_files.py.

LoRA: every adapter is loaded at start with scale 0.0 (the load-time scale is the default
for requests without a `lora` field) and each request sends every adapter's scale.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lib.generation.local_server import (
    INFO_FILE,
    N_CTX,
    N_THREADS,
    LocalServer,
    ServerTuning,
    get_local_server,
    pid_alive,
    terminate,
)
from lib.generation.model_files import MODEL_FILE, model_path
from lib.generation.models import LOCAL_MODEL_ID

# The manager and the shared knobs live in lib/generation/local_server.py; importable from here too.
from lib.io import atomic_write_json

__all__ = ["INFO_FILE", "MODEL_FILE", "N_CTX", "N_THREADS", "LocalServer", "ServerTuning",
           "get_local_server", "model_path", "manual_record", "serve", "stop_recorded", "main"]

# --------------------------------------------------------------------------- server process


def build_params(model: Path, adapters: Sequence[Path], host: str, port: int,
                 tuning: ServerTuning = ServerTuning()) -> Any:
    """xllamacpp parameters: offline, no web UI, one slot, adapters loaded at scale 0."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = str(model)
    # /v1/models names the model, not its file path, so OpenAI clients can pick it by name
    p.model_alias = {LOCAL_MODEL_ID}
    p.n_ctx = tuning.n_ctx
    p.n_batch = tuning.n_batch
    p.n_ubatch = tuning.n_ubatch
    p.cpuparams.n_threads = tuning.threads
    p.cpuparams_batch.n_threads = tuning.batch_threads
    for cpu in (p.cpuparams, p.cpuparams_batch):
        cpu.poll = tuning.poll
    p.flash_attn_type = tuning.flash_attn
    p.cache_ram_mib = tuning.cache_ram_mib
    p.offline = True
    p.ui = False
    p.hostnames = [host]
    p.port = port
    p.verbosity = 1  # warnings and errors only: the log file stays small
    p.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(a), 0.0) for a in adapters]
    return p


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic write: a reader sees the old file or the new one, never half."""
    atomic_write_json(path, data, indent=1)


MANUAL_GLOB = "serve-llm-*.json"  # servers started by hand (`make serve-llm`), per port


def manual_record(data_dir: Path, port: int) -> Path:
    """Where a hand-started server records itself, so `--stop` can find it.

    Not the app's INFO_FILE: the app would adopt it and, needing other adapters, restart
    it on another port under the feet of the clients that use it.
    """
    return Path(data_dir) / "run" / MANUAL_GLOB.replace("*", str(port))


def serve(adapters: Sequence[Path], host: str = "127.0.0.1", port: int = 0,
          info_file: Path | None = None, watch_pid: int | None = None,
          tuning: ServerTuning = ServerTuning(), record_dir: Path | None = None) -> None:
    """Run the server in this process until SIGTERM/SIGINT (or until `watch_pid` exits).

    `record_dir` (hand-started servers): write `run/serve-llm-<port>.json` there while up.
    """
    import xllamacpp

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(build_params(model_path(), adapters, host, port, tuning))
    url = str(server.listening_address)
    info = {"pid": os.getpid(), "base_url": url, "adapters": [str(a) for a in adapters],
            "model": str(model_path()), "tuning": asdict(tuning),
            "started_at": datetime.now(UTC).isoformat()}
    if info_file is not None:
        _write_json(info_file, info)
    record = manual_record(record_dir, urlsplit(url).port or port) if record_dir else None
    if record is not None:
        _write_json(record, info)
    how = "Ctrl-C or `python -m lib.generation.server --stop` stops it"
    print(f"Local model server ready: OpenAI base URL {url}/v1 ({how})", flush=True)
    try:
        while not stop.wait(1.0):
            if watch_pid is not None and not pid_alive(watch_pid):
                break
    finally:
        if record is not None:
            record.unlink(missing_ok=True)
    del server  # stops the HTTP loop cleanly


def shipped_and_user_adapters(data_dir: Path | None) -> list[Path]:
    """Adapters the CLI loads by default: the shipped ones, then the user-trained ones."""
    from lib.generation.models import adapter_paths

    return adapter_paths(data_dir)


def stop_recorded(data_dir: Path | None) -> None:
    """Stop the servers recorded in `<data dir>/run`: the app's (it outlives the app) and
    the hand-started ones (`make serve-llm`)."""
    from lib.config import load_settings

    data_dir = Path(data_dir or load_settings().data_dir)
    manager = LocalServer(data_dir)
    manager.adopt()
    stopped = 0
    if manager.pid:
        print(f"Stopping the app's local model server (pid {manager.pid}).")
        stopped += 1
    manager.stop()
    for record in sorted((data_dir / "run").glob(MANUAL_GLOB)):
        hand = LocalServer(data_dir)
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None
        # a stale record (server killed hard) is only removed: its pid may be reused
        if isinstance(info, dict) and "pid" in info and hand.is_healthy(info):
            print(f"Stopping the local model server at {info['base_url']} (pid {info['pid']}).")
            terminate(int(info["pid"]))
            stopped += 1
        record.unlink(missing_ok=True)
    if not stopped:
        print("No running local model server is recorded.")


def main(argv: Sequence[str] | None = None) -> None:
    """CLI entry: `python -m lib.generation.server [--port N] [--adapter PATH]... [--no-adapters]`."""
    ap = argparse.ArgumentParser(description="Serve SmolLM2 (+ LoRA adapters) on 127.0.0.1.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = a free port")
    ap.add_argument("--adapter", action="append", default=None, help="a LoRA GGUF (repeatable)")
    ap.add_argument("--no-adapters", action="store_true", help="serve the base model only")
    ap.add_argument("--data-dir", type=Path, default=None, help="where user adapters live")
    ap.add_argument("--info-file", type=Path, default=None)
    ap.add_argument("--watch-pid", type=int, default=None, help="exit when this process exits")
    ap.add_argument("--stop", action="store_true",
                    help="stop the servers recorded for --data-dir (the app's and those "
                         "started by hand), then exit")
    d = ServerTuning()
    ap.add_argument("--ctx", type=int, default=d.n_ctx)
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--batch-threads", type=int, default=d.batch_threads)
    ap.add_argument("--batch", type=int, default=d.n_batch)
    ap.add_argument("--ubatch", type=int, default=d.n_ubatch)
    ap.add_argument("--poll", type=int, default=d.poll)
    ap.add_argument("--flash-attn", type=int, default=d.flash_attn, choices=(-1, 0, 1))
    ap.add_argument("--cache-ram", type=int, default=d.cache_ram_mib,
                    help="llama.cpp's host-RAM prompt cache in MiB (0 = off: it ignores LoRA)")
    args = ap.parse_args(argv)
    tuning = ServerTuning(args.ctx, args.threads, args.batch_threads, args.batch, args.ubatch,
                          args.poll, args.flash_attn, args.cache_ram)
    if args.stop:
        stop_recorded(args.data_dir)
        return
    if args.no_adapters:
        adapters: list[Path] = []
    elif args.adapter is not None:
        adapters = [Path(a) for a in args.adapter]
    else:
        from lib.config import load_settings

        adapters = shipped_and_user_adapters(args.data_dir or load_settings().data_dir)
    # by hand (no --info-file: the app always passes one): record it for `--stop`
    record_dir = None if args.info_file else (args.data_dir or _default_data_dir())
    serve(adapters, args.host, args.port, args.info_file, args.watch_pid, tuning, record_dir)


def _default_data_dir() -> Path:
    from lib.config import load_settings

    return Path(load_settings().data_dir)


if __name__ == "__main__":
    main()
