"""What the model did and where it stands: the sidebar's local-server line, the line under
an answer (timings, and a note when the answer was cut off)."""

from __future__ import annotations

import streamlit as st

from lib.generation.local_server import LocalServer
from lib.types import Answer

CUT_NOTE = ("The answer was cut off at the model's length limit: ask a narrower question "
            "or for a shorter answer.")


def server_line(server: LocalServer) -> str:
    """One line on the local model server, from pid checks only (no request per run)."""
    status = server.status()
    if status.state == "stopped":
        return "🔴 Local model server stopped unexpectedly: it restarts with the next question."
    if status.state == "not started":
        return "⚪ Local model server: starts with the first question."
    line = f"🟢 Local model server running (pid {status.pid})"
    if status.restarts:
        line += f" · restarted {status.restarts}× after it stopped, last at {status.last_restart}"
    return line


def render_server_status(server: LocalServer) -> None:
    """The sidebar caption under the model picker."""
    st.caption(server_line(server))


def starting_label(server: LocalServer) -> str:
    """The status box label while the local server (re)starts."""
    if server.status().state == "stopped":
        return "Restarting the local model server (it had stopped)…"
    return "Starting the local model…"


def render_timings(answer: Answer) -> None:
    """Model, retrieval time, first token, speed and tokens; a note when it was cut off."""
    t = answer.timings
    if answer.abstained:
        st.caption(f"Abstained before calling the model · retrieval {t.retrieval_ms:.0f} ms")
        return
    if t.finish_reason == "length":
        st.warning(CUT_NOTE, icon="✂️")
    parts = [answer.model_label]
    if t.retrieval_ms:
        parts.append(f"retrieval {t.retrieval_ms:.0f} ms")
    parts += [f"first token {t.ttft_s:.2f} s", f"{t.tokens_per_s:.0f} tok/s",
              f"{t.prompt_tokens} prompt + {t.completion_tokens} completion tokens"]
    st.caption(" · ".join(parts))
