"""A small real HTTP server on 127.0.0.1 that speaks OpenAI's files + fine-tuning jobs API.

Only the cloud is faked (never the local model). The real `openai` client talks to it.
Each GET of a job advances it one state (validating_files -> queued -> running ->
succeeded), so a poll loop is deterministic. A training file with fewer than 10 valid
examples makes the job fail, as OpenAI does; a wrong key gets 401; an unknown base
model gets 400. Chat completions (streamed) answer for a base model or a succeeded job's
`ft:` model, so a fine-tuned model can be used end to end; their bodies are kept in
`state.chats`.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY = "sk-test-fine-tuning"
MODELS = {"gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14", "gpt-3.5-turbo-0125"}
STEPS = ("validating_files", "queued", "running", "succeeded")


class State:
    """Everything the fake remembers (shared by handler threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.counter = 0
        self.requests: list[str] = []  # "METHOD /path" log, for assertions
        self.chats: list[dict[str, Any]] = []  # chat-completion bodies, in order
        self.reply = "Hello from the fine-tuned model."

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:06d}"

    def event(self, job_id: str, message: str, level: str = "info") -> None:
        self.events[job_id].append(
            {
                "object": "fine_tuning.job.event",
                "id": self.new_id("ftevent"),
                "created_at": int(time.time()) + len(self.events[job_id]),
                "level": level,
                "message": message,
                "type": "message",
            }
        )


def _valid_examples(data: bytes) -> int:
    count = 0
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        msgs = row.get("messages") if isinstance(row, dict) else None
        if isinstance(msgs, list) and any(m.get("role") == "assistant" for m in msgs):
            count += 1
    return count


class Handler(BaseHTTPRequestHandler):
    state: State  # set on the subclass made by start()

    def log_message(self, *_: Any) -> None:  # quiet test output
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _error(
        self, code: int, message: str, kind: str = "invalid_request_error", param: str | None = None
    ) -> None:
        self._send(
            code, {"error": {"message": message, "type": kind, "param": param, "code": None}}
        )

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
            return False
        return True

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:  # noqa: N802
        self.state.requests.append(f"GET {self.path}")
        if not self._authorised():
            return
        path, _, query = self.path.partition("?")
        limit = int((re.search(r"limit=(\d+)", query) or [0, 20])[1])
        with self.state.lock:
            if m := re.fullmatch(r"/v1/fine_tuning/jobs/([\w-]+)/events", path):
                if m[1] not in self.state.jobs:
                    return self._error(404, f"No fine-tuning job {m[1]}")
                data = list(reversed(self.state.events[m[1]]))[:limit]  # newest first
                return self._send(200, {"object": "list", "data": data, "has_more": False})
            if m := re.fullmatch(r"/v1/fine_tuning/jobs/([\w-]+)", path):
                job = self.state.jobs.get(m[1])
                if job is None:
                    return self._error(404, f"No fine-tuning job {m[1]}")
                self._advance(job)
                return self._send(200, job)
            if path == "/v1/fine_tuning/jobs":
                jobs = sorted(self.state.jobs.values(), key=lambda j: j["id"], reverse=True)
                return self._send(200, {"object": "list", "data": jobs[:limit], "has_more": False})
            if m := re.fullmatch(r"/v1/files/([\w-]+)", path):
                f = self.state.files.get(m[1])
                return self._send(200, f["meta"]) if f else self._error(404, "No such file")
        self._error(404, f"Unknown path {path}")

    def do_POST(self) -> None:  # noqa: N802
        self.state.requests.append(f"POST {self.path}")
        if not self._authorised():
            return
        body = self._body()
        with self.state.lock:
            if self.path == "/v1/files":
                return self._upload(body)
            if self.path == "/v1/fine_tuning/jobs":
                return self._create(json.loads(body or b"{}"))
            if self.path == "/v1/chat/completions":
                return self._chat(json.loads(body or b"{}"))
            if m := re.fullmatch(r"/v1/fine_tuning/jobs/([\w-]+)/cancel", self.path):
                job = self.state.jobs.get(m[1])
                if job is None:
                    return self._error(404, f"No fine-tuning job {m[1]}")
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    return self._error(400, f"Job is already {job['status']}.")
                job["status"] = "cancelled"
                job["finished_at"] = int(time.time())
                self.state.event(job["id"], "Job cancelled")
                return self._send(200, job)
        self._error(404, f"Unknown path {self.path}")

    def _upload(self, body: bytes) -> None:
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
        fields = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        if "file" not in fields or fields.get("purpose") is None:
            return self._error(400, "file and purpose are required")
        purpose = fields["purpose"].get_content().strip()
        if purpose != "fine-tune":
            return self._error(400, f"Invalid purpose {purpose!r}")
        data = fields["file"].get_payload(decode=True) or b""
        fid = self.state.new_id("file")
        meta = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": fields["file"].get_filename() or "upload.jsonl",
            "purpose": purpose,
            "status": "processed",
        }
        self.state.files[fid] = {"meta": meta, "data": data}
        self._send(200, meta)

    def _chat(self, req: dict[str, Any]) -> None:
        """A streamed answer (SSE) from a base model or a succeeded job's `ft:` model."""
        self.state.chats.append(req)
        tuned = {j["fine_tuned_model"] for j in self.state.jobs.values() if j["fine_tuned_model"]}
        if req.get("model") not in MODELS | tuned:
            return self._error(404, f"The model {req.get('model')} does not exist.")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
        base = {"id": "chatcmpl-ft", "object": "chat.completion.chunk", "created": 0,
                "model": req["model"]}
        words = self.state.reply.split(" ")
        for i, word in enumerate(words):
            text = word if i == len(words) - 1 else word + " "
            self._event({**base, "choices": [{"index": 0, "delta": {"content": text},
                                              "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10}
        self._event({**base, "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _create(self, req: dict[str, Any]) -> None:
        if req.get("model") not in MODELS:
            return self._error(
                400, f"Model {req.get('model')} is not available for fine-tuning.", param="model"
            )
        if req.get("training_file") not in self.state.files:
            return self._error(400, "invalid training_file: no such file", param="training_file")
        epochs = (
            ((req.get("method") or {}).get("supervised") or {}).get("hyperparameters")
            or req.get("hyperparameters")
            or {}
        ).get("n_epochs", "auto")
        jid = self.state.new_id("ftjob")
        job = {
            "object": "fine_tuning.job",
            "id": jid,
            "model": req["model"],
            "created_at": int(time.time()),
            "finished_at": None,
            "fine_tuned_model": None,
            "organization_id": "org-test",
            "result_files": [],
            "status": "validating_files",
            "validation_file": req.get("validation_file"),
            "training_file": req["training_file"],
            "hyperparameters": {"n_epochs": epochs},
            "trained_tokens": None,
            "error": None,
            "seed": 42,
            "suffix": req.get("suffix"),
        }
        self.state.jobs[jid] = job
        self.state.events[jid] = []
        self.state.event(jid, f"Created fine-tuning job: {jid}")
        self._send(200, job)

    def _advance(self, job: dict[str, Any]) -> None:
        """One state further per poll; a too-small training file fails at validation."""
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        data = self.state.files[job["training_file"]]["data"]
        if job["status"] == "validating_files" and _valid_examples(data) < 10:
            job.update(
                status="failed",
                finished_at=int(time.time()),
                error={
                    "code": "invalid_training_file",
                    "param": "training_file",
                    "message": "The job failed due to an invalid training file. Training file "
                    "has fewer than 10 examples.",
                },
            )
            self.state.event(job["id"], job["error"]["message"], "error")
            return
        job["status"] = STEPS[STEPS.index(job["status"]) + 1]
        self.state.event(
            job["id"],
            {
                "queued": "Files validated, moving job to queued state",
                "running": "Fine-tuning job started",
                "succeeded": "The job has successfully completed",
            }[job["status"]],
        )
        if job["status"] == "succeeded":
            suffix = job.get("suffix") or "custom"
            job.update(
                finished_at=int(time.time()),
                trained_tokens=len(data) // 4,
                fine_tuned_model=f"ft:{job['model']}:org-test:{suffix}:{job['id'][-6:]}",
            )


class FakeOpenAIFineTuning:
    """Start with `FakeOpenAIFineTuning().start()`; `.url` is the base URL (with /v1)."""

    def __init__(self) -> None:
        self.state = State()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIFineTuning:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
