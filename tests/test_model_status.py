"""ui.model_status: the sidebar's local-server line and the cut-off note under an answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from streamlit.testing.v1 import AppTest

from lib.generation.local_server import INFO_FILE, LocalServer
from ui.model_status import CUT_NOTE, server_line

# A real HTTP server answering /health like llama.cpp: the manager adopts it by pid and URL.
HEALTH_SERVER = """
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def test_not_started_then_running_then_stopped(tmp_path):
    manager = LocalServer(tmp_path)
    assert "starts with the first question" in server_line(manager)
    proc = subprocess.Popen([sys.executable, "-c", HEALTH_SERVER], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline())
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / INFO_FILE).write_text(json.dumps(
            {"pid": proc.pid, "base_url": f"http://127.0.0.1:{port}", "adapters": []}))
        assert server_line(manager).startswith(f"🟢 Local model server running (pid {proc.pid})")
        assert manager.adopt()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        deadline = time.monotonic() + 5
        while "stopped" not in server_line(manager) and time.monotonic() < deadline:
            time.sleep(0.05)
        line = server_line(manager)
        assert line.startswith("🔴") and "restarts with the next question" in line
    finally:
        proc.kill()
        proc.wait(5)


def _answer(finish_reason: str) -> None:
    from lib.types import Answer, Timings
    from ui.model_status import render_timings

    render_timings(Answer("Part of an answer", timings=Timings(
        ttft_s=0.5, completion_tokens=320, finish_reason=finish_reason), model_label="M"))


def test_an_answer_cut_at_the_length_limit_gets_a_note():
    at = AppTest.from_function(_answer, args=("length",)).run()
    assert not at.exception
    assert [w.value for w in at.warning] == [CUT_NOTE]
    assert "first token 0.50 s" in at.caption[0].value
    at = AppTest.from_function(_answer, args=("stop",)).run()
    assert not at.warning
