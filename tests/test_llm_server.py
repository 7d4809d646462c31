"""The server process (`python -m lib.generation.server`): real llama.cpp, CLI, start-up record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lib.generation.local_server import _get_json, pid_alive
from lib.generation.server import INFO_FILE, LocalServer, model_path
from tests.llm_fixtures import shared_server

ROOT = Path(__file__).resolve().parent.parent


def test_model_file_ships_in_the_package():
    assert model_path().is_file() and model_path().suffix == ".gguf"


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "lib.generation.server", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--adapter" in out.stdout and "--port" in out.stdout


@pytest.mark.slow
def test_shared_server_is_healthy_and_recorded():
    server = shared_server()
    assert server.is_healthy()
    info = json.loads(server.info_path.read_text())
    assert info["pid"] == server.pid and info["base_url"] == server.base_url
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.count_tokens("Orbit Bank OB-7731") > 3  # the model's own tokenizer
    models = _get_json(f"{server.base_url}/v1/models")
    assert models["data"], "the OpenAI-compatible API lists the model"


@pytest.mark.slow
def test_stop_command_stops_the_recorded_server(tmp_path):
    """`python -m lib.generation.server --stop` ends a server the app left running."""
    manager = LocalServer(tmp_path, watch_parent=True)
    manager.ensure()
    pid = manager.pid
    out = subprocess.run([sys.executable, "-m", "lib.generation.server", "--stop", "--data-dir",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and f"pid {pid}" in out.stdout
    assert not pid_alive(pid) and not (tmp_path / "run" / INFO_FILE).exists()


@pytest.mark.slow
def test_stop_command_stops_a_server_started_by_hand(tmp_path):
    """`make serve-llm` (no --info-file) records itself; `--stop` ends it and its record."""
    cmd = [sys.executable, "-m", "lib.generation.server", "--port", "0", "--no-adapters",
           "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the server listens
        assert "OpenAI base URL http://127.0.0.1:" in line and "--stop" in line
        (record,) = (tmp_path / "run").glob("serve-llm-*.json")
        info = json.loads(record.read_text())
        port = urlsplit(info["base_url"]).port
        assert info["pid"] == proc.pid and record.name == f"serve-llm-{port}.json"
        assert not (tmp_path / "run" / INFO_FILE).exists(), "the app must not adopt it"
        out = subprocess.run([sys.executable, "-m", "lib.generation.server", "--stop", "--data-dir",
                              str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0 and f"pid {proc.pid}" in out.stdout
        assert proc.wait(timeout=10) is not None and not record.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_the_served_model_is_listed_by_name():
    """Other OpenAI clients pick the model by its name, not by a path under .cache/."""
    from lib.generation.models import LOCAL_MODEL_ID

    server = shared_server()
    listed = _get_json(f"{server.base_url}/v1/models", timeout=10)
    assert [m["id"] for m in listed["data"]] == [LOCAL_MODEL_ID]
