"""A real HTTP server on 127.0.0.1 speaking the chat-completions subset RAG Lab uses.

Only the OpenAI *cloud* is faked (the brief allows it): the real `openai` client talks
to it over HTTP. Behaviour is set per test:

    with FakeOpenAI(api_key="sk-test", models={"gpt-test"}) as fake:
        fake.fail_next(429, 429)          # the next two requests get 429
        fake.reply = "The fee is £5 [1]."
        client = openai.OpenAI(api_key="sk-test", base_url=fake.url)

Errors use OpenAI's shape: {"error": {"message", "type", "code"}}.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERRORS = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error",
          "model_not_found"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error.", "server_error", None),
}


class _Server(ThreadingHTTPServer):
    """A client that hangs up mid-answer (deadlines, crashes) is expected: no traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """Start on enter, stop on exit; `url` ends in /v1 like OpenAI's base URL."""

    def __init__(self, api_key: str = "sk-test", models: set[str] | None = None,
                 reply: str = "Hello from the fake [1].", max_prompt_chars: int = 100_000):
        self.api_key = api_key
        self.models = models if models is not None else {"gpt-test"}
        self.reply = reply
        self.replies: deque[str] = deque()  # queued: each request takes the next as `reply`
        self.max_prompt_chars = max_prompt_chars  # longer prompts get a context-length 400
        self.retry_after: str | None = "0"  # header sent with 429s (seconds)
        self.quota_exceeded = False  # 429s say "insufficient_quota" (not worth retrying)
        self.delay_s = 0.0  # sleep before answering (timeouts)
        self.drop_after_chunks: int | None = None  # cut the stream mid-answer
        self.chunk_delay_s = 0.0  # sleep between streamed words (a slow or stalled server)
        self.finish_reason = "stop"  # "length": the answer was cut by the token limit
        self.requests: list[dict[str, Any]] = []  # bodies received, in order
        self.auth_headers: list[str] = []
        self._failures: deque[int] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, *statuses: int) -> None:
        """The next requests answer these HTTP statuses, in order."""
        with self._lock:
            self._failures.extend(statuses)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------ request handling
    def _next_failure(self) -> int | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path.rstrip("/") == "/v1/models" and self._authorised():
                    data = [{"id": m, "object": "model", "owned_by": "fake"} for m in fake.models]
                    self._json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    fake.auth_headers.append(self.headers.get("Authorization", ""))
                    if fake.replies:
                        fake.reply = fake.replies.popleft()
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._error(404)
                if not self._authorised():
                    return
                status = fake._next_failure()
                if status is not None:
                    return self._error(status)
                if body.get("model") not in fake.models:
                    return self._error(404)
                prompt = "".join(str(m.get("content", "")) for m in body.get("messages", []))
                if len(prompt) > fake.max_prompt_chars:
                    return self._json(400, {"error": {
                        "message": "This model's maximum context length is exceeded.",
                        "type": "invalid_request_error", "code": "context_length_exceeded"}})
                time.sleep(fake.delay_s)
                if body.get("stream"):
                    self._stream(body, len(prompt))
                else:
                    self._json(200, self._completion(body, len(prompt)))

            def _authorised(self) -> bool:
                if self.headers.get("Authorization", "") != f"Bearer {fake.api_key}":
                    self._error(401)
                    return False
                return True

            def _reply(self, body: dict[str, Any]) -> str:
                """The queued reply cut before the first stop sequence, as OpenAI does."""
                stops = body.get("stop") or []
                cut = min((i for st in ([stops] if isinstance(stops, str) else stops)
                           if (i := fake.reply.find(st)) >= 0), default=len(fake.reply))
                return fake.reply[:cut]

            def _usage(self, prompt_chars: int) -> dict[str, int]:
                p, c = max(1, prompt_chars // 4), max(1, len(fake.reply) // 4)
                return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

            def _completion(self, body: dict[str, Any], prompt_chars: int) -> dict[str, Any]:
                return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                        "model": body["model"], "usage": self._usage(prompt_chars),
                        "choices": [{"index": 0, "finish_reason": fake.finish_reason, "message": {
                            "role": "assistant", "content": self._reply(body)}}]}

            def _stream(self, body: dict[str, Any], prompt_chars: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")  # like llama.cpp and OpenAI
                self.end_headers()
                words = [w + " " for w in self._reply(body).split(" ")]
                words[-1] = words[-1].rstrip()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                        "created": 0, "model": body["model"]}
                for i, word in enumerate(words):
                    if fake.drop_after_chunks is not None and i >= fake.drop_after_chunks:
                        self._chunk(b"data: {\"choi")  # half an event, no final chunk: a crash
                        self.close_connection = True
                        return
                    if i:
                        time.sleep(fake.chunk_delay_s)
                    delta = {"content": word} if i else {"role": "assistant", "content": word}
                    self._event({**base, "choices": [
                        {"index": 0, "delta": delta, "finish_reason": None}]})
                stop = {"index": 0, "delta": {}, "finish_reason": fake.finish_reason}
                self._event({**base, "choices": [stop]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._event({**base, "choices": [], "usage": self._usage(prompt_chars)})
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")  # the terminating zero-length chunk

            def _event(self, data: dict[str, Any]) -> None:
                self._chunk(f"data: {json.dumps(data)}\n\n".encode())

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _error(self, status: int) -> None:
                message, kind, code = _ERRORS.get(status, _ERRORS[500])
                if status == 429 and fake.quota_exceeded:
                    message, kind, code = ("You exceeded your current quota.", "insufficient_quota",
                                           "insufficient_quota")
                retry = status == 429 and fake.retry_after
                headers = {"Retry-After": fake.retry_after} if retry else {}
                self._json(status, {"error": {"message": message, "type": kind, "code": code}},
                           headers)

            def _json(self, status: int, data: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        return Handler
