"""The manager of the local model server process (the app side of lib/generation/server.py).

`LocalServer` starts `python -m lib.generation.server` in its own process (a model crash never
takes the app down), health-checks it with a deadline, reuses a live one (also one that an
earlier app process recorded in `<data dir>/run/llm_server.json`), restarts it when it died
or when a new LoRA adapter must be loaded, and stops it; `status()` says how it stands
without sending a request (the sidebar reads it on every run). Thread-safe: Streamlit sessions
are threads of one process and share one manager per data dir (`get_local_server`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.types import ProviderError

N_CTX = 2048  # SmolLM2 knows 8192, but 2048 fits 4 chunks + answer and is fastest
N_THREADS = 2  # the target machine has 2 cores
INFO_FILE = "llm_server.json"


@dataclass(frozen=True)
class ServerTuning:
    """llama.cpp knobs measured by bench/llm.py (defaults = the kept values)."""

    n_ctx: int = N_CTX
    # Measured with bench/llm.py --sweep (4-chunk RAG prompt, ~500 cold tokens, 2 cores):
    # generation on ONE thread. Idle machine: 2 threads give 85 tok/s vs 57, same TTFT.
    # Busy machine (other processes, or Streamlit rendering the stream): 2 generation
    # threads collapsed to 2-9 tok/s (a 2-thread barrier stalls whenever a core is taken),
    # 1 thread kept 40-60. Prompt processing keeps both cores: 1 thread there doubled
    # TTFT (3.0 s vs 1.6 s). Flash attention (auto = on): 1.6 s vs 2.3 s off. A ubatch of
    # 256 or 128 was slower than 512.
    threads: int = 1  # generation (one token at a time)
    batch_threads: int = N_THREADS  # prompt processing (compute-bound: more cores help)
    n_batch: int = 2048  # logical batch: a whole RAG prompt is decoded in one go
    n_ubatch: int = 512  # physical batch
    poll: int = 50  # llama.cpp's busy-wait level (0-100) between graph tasks
    flash_attn: int = -1  # -1 auto, 0 off, 1 on
    # llama.cpp's host-RAM prompt cache (default 8 GiB) saves a slot's KV state and restores
    # it for a later, similar prompt, ignoring which LoRA computed it. Measured: base asks
    # g02, fine-tuned asks g01 then g02 -> the fine-tuned g02 answer reused the base KV and
    # differed from a clean server's. Off: the one slot still reuses its own prefix (the
    # fixed system prompt), and request_options drops that on an adapter switch.
    cache_ram_mib: int = 0

    def args(self) -> list[str]:
        """The same knobs as CLI arguments of `python -m lib.generation.server`."""
        return ["--ctx", str(self.n_ctx), "--threads", str(self.threads),
                "--batch-threads", str(self.batch_threads), "--batch",
                str(self.n_batch), "--ubatch", str(self.n_ubatch), "--poll", str(self.poll),
                "--flash-attn", str(self.flash_attn), "--cache-ram", str(self.cache_ram_mib)]


@dataclass(frozen=True)
class ServerStatus:
    """How the local model server stands, learnt without a request (pid checks only)."""

    state: str  # "running" | "stopped" (it died; the next request restarts it) | "not started"
    pid: int | None = None
    restarts: int = 0  # dead or hung servers this manager replaced
    last_restart: str = ""  # local time (HH:MM:SS) of the last replacement


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists (and is not a zombie we own)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a dead child stays a zombie until reaped: reap it if it is ours
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _get_json(url: str, timeout: float = 2.0) -> Any:
    """GET a JSON document; raises OSError/ValueError on any failure."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (127.0.0.1 only)
        return json.loads(resp.read())


def _post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> Any:
    """POST a JSON document and parse the JSON answer."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        return json.loads(resp.read())


def terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds (a no-op for a pid that is gone)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class LocalServer:
    """Starts, reuses, restarts and stops the local model server process. Thread-safe."""

    def __init__(self, data_dir: Path, startup_timeout: float = 90.0, watch_parent: bool = False,
                 tuning: ServerTuning = ServerTuning()):
        self.run_dir = Path(data_dir) / "run"
        self.info_path = self.run_dir / INFO_FILE
        self.log_path = self.run_dir / "llm_server.log"
        self.startup_timeout = startup_timeout
        self.watch_parent = watch_parent  # tests: never leave an orphan server behind
        self.tuning = tuning
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._info: dict[str, Any] | None = None
        self._last_adapter: tuple[str | None, float] | None = None
        self._restarts = 0
        self._last_restart = ""

    # ---- state
    @property
    def base_url(self) -> str | None:
        """`http://127.0.0.1:<port>` of the running server (no /v1), or None."""
        return self._info["base_url"] if self._info else None

    @property
    def pid(self) -> int | None:
        return int(self._info["pid"]) if self._info else None

    @property
    def adapters(self) -> tuple[str, ...]:
        """Adapter paths in load order (= their llama.cpp ids)."""
        return tuple(self._info["adapters"]) if self._info else ()

    def is_healthy(self, info: dict[str, Any] | None = None) -> bool:
        """True when the process lives and GET /health says ok."""
        info = info or self._info
        if not info or not pid_alive(int(info["pid"])):
            return False
        try:
            return _get_json(f"{info['base_url']}/health", timeout=2.0).get("status") == "ok"
        except (OSError, ValueError, AttributeError):
            return False

    def status(self) -> ServerStatus:
        """Running, stopped (died since it last answered) or not started; no HTTP request."""
        with self._lock:
            info = self._info
            if info is None:  # maybe an earlier app process left one running
                try:
                    info = json.loads(self.info_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    info = None
                alive = isinstance(info, dict) and "pid" in info and pid_alive(int(info["pid"]))
                state = "running" if alive else "not started"
            else:
                state = "running" if pid_alive(int(info["pid"])) else "stopped"
            pid = int(info["pid"]) if state == "running" and info else None
            return ServerStatus(state, pid, self._restarts, self._last_restart)

    def ready(self, adapters: Sequence[Path | str] = ()) -> bool:
        """True when a healthy server already has `adapters` loaded: one health check."""
        wanted = {str(Path(a).resolve()) for a in adapters}
        with self._lock:
            healthy = self.adopt() if self._info is None else self.is_healthy()
            return healthy and wanted <= set(self.adapters)

    # ---- lifecycle
    def ensure(self, adapters: Sequence[Path | str] = ()) -> str:
        """Return the base URL of a healthy server that has `adapters` loaded.

        Reuses the running (or recorded) server; (re)starts it when it died or when an
        adapter it must serve is not loaded yet (llama.cpp loads adapters only at start).
        One health check when the server runs (start-up polls until it is ready).
        """
        wanted = [str(Path(a).resolve()) for a in adapters]
        with self._lock:
            known = self._info is not None
            if self.adopt() if not known else self.is_healthy():
                if set(wanted) <= set(self.adapters):
                    return str(self.base_url)
                wanted = list(dict.fromkeys([*self.adapters, *wanted]))  # keep old ids first
            elif known:  # it answered before and is now dead or hung: replace it, keep count
                wanted = list(dict.fromkeys([*self.adapters, *wanted]))
                self._restarts += 1
                self._last_restart = time.strftime("%H:%M:%S")
            self.stop()
            self._start(wanted)
            return str(self.base_url)

    def adopt(self) -> bool:
        """Reuse a live server recorded by an earlier app process; True when adopted."""
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if isinstance(info, dict) and "pid" in info and self.is_healthy(info):
            with self._lock:
                self._info = info
            return True
        return False

    def _start(self, adapters: Sequence[str]) -> None:
        """Spawn `python -m lib.generation.server` and wait until it is healthy (with a deadline)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.info_path.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "lib.generation.server", "--port", "0",
               "--info-file", str(self.info_path), *self.tuning.args()]
        flags = [x for a in adapters for x in ("--adapter", a)]
        cmd += flags or ["--no-adapters"]
        if self.watch_parent:
            cmd += ["--watch-pid", str(os.getpid())]
        root = Path(__file__).resolve().parents[2]
        with open(self.log_path, "ab") as log:
            # own session: Ctrl-C in the app's terminal does not kill the shared server
            self._proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_healthy(self._proc)

    def _wait_healthy(self, proc: subprocess.Popen[bytes]) -> None:
        """Poll the info file and /health until ready; clear errors on exit or deadline."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ProviderError(f"The local model server exited during start-up "
                                    f"(code {proc.returncode}); see {self.log_path}.")
            try:
                info = json.loads(self.info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = None
            if info and info.get("pid") == proc.pid and self.is_healthy(info):
                self._info = info
                self._last_adapter = None
                return
            time.sleep(0.1)
        self._kill(proc.pid)
        raise ProviderError(f"The local model server was not ready within "
                            f"{self.startup_timeout:.0f} s; see {self.log_path}.")

    def stop(self) -> None:
        """Stop the server (ours or adopted) and forget it."""
        with self._lock:
            if self._info is not None:
                self._kill(int(self._info["pid"]))
            elif self._proc is not None:
                self._kill(self._proc.pid)
            self._info, self._proc, self._last_adapter = None, None, None
            self.info_path.unlink(missing_ok=True)

    def _kill(self, pid: int) -> None:
        """Terminate `pid`; reaps our own child."""
        terminate(pid)
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # ---- per-request helpers
    def request_options(self, adapter: Path | str | None, scale: float = 1.0) -> dict[str, Any]:
        """llama.cpp extras for one request: every adapter's scale + cache policy.

        The slot's KV cache was computed with the previous request's adapter: reusing it
        for another adapter contaminates the answer, so `cache_prompt` is off on a switch.
        """
        key = (str(Path(adapter).resolve()) if adapter else None, float(scale) if adapter else 0.0)
        with self._lock:
            if key[0] is not None and key[0] not in self.adapters:
                raise ProviderError(
                    f"The adapter {Path(key[0]).name} is not loaded in the local server.")
            lora = [{"id": i, "scale": key[1] if path == key[0] else 0.0}
                    for i, path in enumerate(self.adapters)]
            same = self._last_adapter is None or self._last_adapter == key
            self._last_adapter = key
        return {"lora": lora, "cache_prompt": same} if lora else {"cache_prompt": same}

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's own tokenizer (POST /tokenize)."""
        if not self.base_url:
            raise ProviderError("The local model server is not running.")
        try:
            return len(_post_json(f"{self.base_url}/tokenize", {"content": text})["tokens"])
        except (OSError, ValueError, KeyError) as exc:
            raise ProviderError("The local model server did not answer /tokenize.") from exc


_SHARED: dict[Path, LocalServer] = {}
_SHARED_LOCK = threading.Lock()


def get_local_server(data_dir: Path) -> LocalServer:
    """One process-wide manager per data dir (shared by every session and page)."""
    key = Path(data_dir).resolve()
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = LocalServer(key)
        return _SHARED[key]
