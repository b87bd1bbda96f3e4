"""A TEST model server: a small, deterministic OpenAI-compatible chat-completions server.

It is owned by the test suite (started on a free port by the ``model_server`` fixture) and is
no model: it answers from the prompt by fixed rules, so tests can assert exact text. It speaks
the protocol the product's client speaks to OpenAI, vLLM, llama.cpp, Ollama and TGI:
``POST /v1/chat/completions`` (``n`` choices, ``usage``, ``stream: true`` as server-sent events
ending in ``data: [DONE]``), ``GET /v1/models``, JSON error bodies.

Markers anywhere in the messages steer it (each used by a test):

* ``[[reply:TEXT]]`` — answer TEXT exactly (every choice); ``[[reply-json:{...}]]`` likewise;
* ``[[error:CODE]]`` — answer HTTP CODE (400, 404, 500…) every time;
* ``[[flaky:N]]`` — the first N requests with this prompt answer 503, then it answers;
* ``[[ratelimit:N]]`` — the first N requests with this prompt answer 429 with ``Retry-After: 1``;
* ``[[slow:SECONDS]]`` — wait that long before answering (timeouts, concurrency);
* ``[[garbage]]`` — answer 200 with a body that is not JSON;
* ``[[break-stream]]`` — a stream that closes after two pieces without ``[DONE]``.

Without a marker the answer is ``"<model> answer <i>: <last user message>"`` for choice i, so
every choice differs and names the model that wrote it. A request whose system message says
``You are a judge`` (the product's judge and claim-split prompts) gets rules of its own, see
:func:`judge_reply`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = re.compile(r"\[\[(reply|reply-json|error|flaky|ratelimit|slow|garbage|break-stream)(?::(.*?))?\]\]",
                    re.DOTALL)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def judge_reply(system: str, user: str) -> str | None:
    """Deterministic stand-ins for the product's model-as-judge prompts (see services/judging.py
    and services/claims.py): pairwise → the LONGER answer's letter, unless the prompt says
    ``[[prefer:first]]`` (always "A": a position-biased judge); ranking → the longest answer
    first (``[[prefer:first]]``: the order shown); label → the first label listed; claims → one
    claim per sentence; fact-check verdicts → "refuted" for a claim with the word "not", else
    "supported"."""
    if "You are a judge" not in system:
        return None
    if "split" in system.lower() and "claims" in system.lower():
        body = user.split("RESPONSE:", 1)[-1]
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", body.strip()) if s.strip()]
        return json.dumps({"claims": sentences})
    if "checking facts" in system:  # a verdict per numbered claim: refuted when it says "not"
        claims = re.findall(r"^\d+\. (.*)$", user.split("CLAIMS:", 1)[-1], re.MULTILINE)
        return json.dumps({"verdicts": ["refuted" if re.search(r"\bnot\b", c, re.IGNORECASE) else "supported"
                                        for c in claims], "confidence": 0.85})
    if "ranking answers" in system:  # the longest answer first, or as shown with [[prefer:first]]
        shown = re.findall(r"\[ANSWER ([A-Z])\]\n(.*?)\n\[END \1\]", user, re.DOTALL)
        if "[[prefer:first]]" in user:
            return json.dumps({"ranking": [letter for letter, _ in shown], "confidence": 0.9})
        ranked = sorted(shown, key=lambda a: (-len(a[1]), a[1]))
        return json.dumps({"ranking": [letter for letter, _ in ranked], "confidence": 0.8})
    if "[[prefer:first]]" in user:
        return json.dumps({"choice": "A", "confidence": 0.9})
    answers = re.findall(r"\[ANSWER ([AB])\]\n(.*?)\n\[END \1\]", user, re.DOTALL)
    if len(answers) == 2:
        (la, ta), (lb, tb) = answers
        if len(ta) == len(tb):
            return json.dumps({"choice": "tie", "confidence": 0.5})
        return json.dumps({"choice": la if len(ta) > len(tb) else lb, "confidence": 0.8})
    labels = re.search(r"LABELS: (.*)", user)
    if labels:
        return json.dumps({"label": labels.group(1).split(",")[0].strip(), "confidence": 0.7})
    return None


class ModelServer:
    """The running test server: ``base_url`` (ends in ``/v1``), the requests it got, and the
    most requests it served at once (``max_in_flight``)."""

    def __init__(self, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.seen: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        # Requests whose messages contain this text answer 503 while it is set (an outage).
        self.unavailable_for: str | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                if server.api_key is not None and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._json(401, {"error": {"message": "Incorrect API key provided",
                                               "type": "invalid_request_error"}})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                    return
                with server._lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.handler = Handler
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = self._handle_error  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="test-model-server", daemon=True)

    @staticmethod
    def _handle_error(request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, BrokenPipeError | ConnectionResetError):
            return  # the client gave up (a timeout test): nothing to report
        import traceback

        traceback.print_exc()

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        """Forget past requests, once those still being answered (a client that timed out
        leaves its slow request running) are done."""
        deadline = time.monotonic() + 10
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            self.requests.clear()
            self.seen.clear()
            self.max_in_flight = 0
            self.unavailable_for = None

    # -----------------------------------------------------------------------------------------

    def _answer(self, h: Any, body: dict) -> None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            h._json(400, {"error": {"message": "messages must be a non-empty list", "type": "invalid_request_error"}})
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            h._json(400, {"error": {"message": "model is required", "type": "invalid_request_error"}})
            return
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 16:
            h._json(400, {"error": {"message": "n must be between 1 and 16", "type": "invalid_request_error"}})
            return
        all_text = "\n".join(_text(m.get("content")) for m in messages if isinstance(m, dict))
        system = "\n".join(_text(m.get("content")) for m in messages
                            if isinstance(m, dict) and m.get("role") == "system")
        users = [_text(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last_user = users[-1] if users else ""
        with self._lock:
            self.seen[all_text] += 1
            count = self.seen[all_text]
        markers = {m.group(1): m.group(2) for m in MARKER.finditer(all_text)}
        if self.unavailable_for is not None and self.unavailable_for in all_text:
            h._json(503, {"error": {"message": "test server unavailable", "type": "server_error"}})
            return
        if "slow" in markers:
            time.sleep(float(markers["slow"] or 1))
        if "error" in markers:
            code = int(markers["error"] or 500)
            h._json(code, {"error": {"message": f"test server error {code}", "type": "server_error"}})
            return
        if "flaky" in markers and count <= int(markers["flaky"] or 1):
            h._json(503, {"error": {"message": "test server overloaded", "type": "server_error"}})
            return
        if "ratelimit" in markers and count <= int(markers["ratelimit"] or 1):
            h._json(429, {"error": {"message": "rate limit reached", "type": "rate_limit_error"}},
                    headers={"Retry-After": "1"})
            return
        if "garbage" in markers:
            data = b"<html>not json</html>"
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        judged = judge_reply(system, last_user)
        texts = []
        for i in range(n):
            if "reply" in markers:
                texts.append(markers["reply"] or "")
            elif "reply-json" in markers:
                texts.append(markers["reply-json"] or "{}")
            elif judged is not None:
                texts.append(judged)
            else:
                clean = MARKER.sub("", last_user).strip()
                texts.append(f"{model} answer {i}: {clean}")
        max_tokens = body.get("max_tokens")
        finish = ["stop"] * n
        if isinstance(max_tokens, int) and max_tokens > 0:
            for i, t in enumerate(texts):
                words = t.split(" ")
                if len(words) > max_tokens:
                    texts[i], finish[i] = " ".join(words[:max_tokens]), "length"
        prompt_tokens = len(all_text.split())
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": sum(len(t.split()) for t in texts),
                 "total_tokens": prompt_tokens + sum(len(t.split()) for t in texts)}
        created = int(time.time())
        if body.get("stream"):
            self._stream(h, model, texts[0], finish[0], usage if (body.get("stream_options") or {}).get("include_usage")
                         else None, created, broken="break-stream" in markers)
            return
        h._json(200, {"id": f"chatcmpl-test-{len(self.requests)}", "object": "chat.completion", "created": created,
                      "model": model,
                      "choices": [{"index": i, "message": {"role": "assistant", "content": t},
                                   "finish_reason": finish[i]} for i, t in enumerate(texts)],
                      "usage": usage})

    def _stream(self, h: Any, model: str, text: str, finish: str, usage: dict | None, created: int,
                broken: bool) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

        def event(obj: Any) -> None:
            h.wfile.write(f"data: {json.dumps(obj)}\n\n".encode())
            h.wfile.flush()

        base = {"id": "chatcmpl-test-stream", "object": "chat.completion.chunk", "created": created, "model": model}
        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        words = text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if broken and i == 1:
                return  # the connection closes mid-answer
        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if usage is not None:
            event({**base, "choices": [], "usage": usage})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()


if __name__ == "__main__":  # run it by hand: python -m tests.model_server [PORT]
    import sys

    srv = ModelServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8001).start()
    print(f"test model server at {srv.base_url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
