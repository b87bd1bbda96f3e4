"""Chat completions from any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, TGI).

One function does the talking: :func:`complete` sends ``POST {base_url}/chat/completions`` and
returns one :class:`Completion` per choice; :func:`complete_streaming` reads the same call as
server-sent events, handing each piece of text to a callback as it arrives. Both

* read the API key from the environment variable the endpoint names, at call time (the key is
  never stored, logged or put in an error message);
* hold a per-endpoint slot while a request is in flight, so at most ``max_concurrency``
  requests go to one endpoint from this process at once (each worker process has its own
  slots: N processes may send N × ``max_concurrency``);
* give up on one request after ``timeout_s`` and retry timeouts, connection failures, 429 and
  5xx answers up to ``max_retries`` times, waiting as the server's ``Retry-After`` asks (capped)
  or with exponential backoff and jitter, the slot released while waiting;
* raise a :class:`ModelError` subclass for anything else (a 4xx, a reply that is not a chat
  completion, a key that is not set), with a message fit to show an operator.

This module knows nothing of the database: ``services/models.py`` loads an endpoint's row,
calls these functions outside any transaction and records each call in ``model_calls``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0

Message = dict[str, Any]
T = TypeVar("T")


class ModelError(Exception):
    """A model call that did not produce completions. ``retryable`` errors were retried already."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status
        self.attempts = attempts


class ModelConfigError(ModelError):
    """The endpoint cannot be called as configured (its key's environment variable is unset)."""


class ModelRequestError(ModelError):
    """The server refused the request (a 4xx other than 429): retrying would not help."""


class ModelUnavailable(ModelError):
    """Timeouts, connection failures, 429 or 5xx, still failing after every retry."""

    retryable = True


class ModelResponseError(ModelError):
    """The server answered 200 with something that is not a chat completion."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call a model. ``api_key_env`` is the NAME of an environment variable."""

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    max_concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 4

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


@dataclass(frozen=True)
class Usage:
    """One call's token counts and time; ``prompt_tokens``/``completion_tokens`` are None when
    the server does not report them. ``completion_tokens`` covers all ``n`` choices."""

    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    attempts: int


@dataclass(frozen=True)
class Completion:
    """One choice of one call: the text, who wrote it (the model the server names), with which
    parameters, when, and the call's usage (shared by the ``n`` choices of that call)."""

    text: str
    model: str
    endpoint: str
    params: dict[str, Any]
    index: int
    finish_reason: str | None
    usage: Usage
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> int:
        return self.usage.latency_ms

    def provenance(self) -> dict[str, Any]:
        """What to store beside the text: model, endpoint, parameters, time and cost of the call."""
        return {"model": self.model, "endpoint": self.endpoint, "params": dict(self.params),
                "called_at": self.created_at.isoformat(), "latency_ms": self.usage.latency_ms,
                "prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens,
                "finish_reason": self.finish_reason}


# ---------------------------------------------------------------------------------------------
# Per-endpoint slots and pooled connections (per process)

_lock = threading.Lock()
_slots: dict[str, tuple[int, threading.BoundedSemaphore]] = {}
_clients: dict[tuple[str, float], httpx.Client] = {}


def _slot(endpoint: Endpoint) -> threading.BoundedSemaphore:
    limit = max(1, endpoint.max_concurrency)
    with _lock:
        held = _slots.get(endpoint.name)
        if held is None or held[0] != limit:  # a changed limit starts a new pool of slots
            held = (limit, threading.BoundedSemaphore(limit))
            _slots[endpoint.name] = held
        return held[1]


def _client(endpoint: Endpoint) -> httpx.Client:
    key = (endpoint.base_url, float(endpoint.timeout_s))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(timeout=httpx.Timeout(endpoint.timeout_s),
                                  limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))
            _clients[key] = client
        return client


def close_clients() -> None:
    """Close pooled connections (tests, shutdown)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


# ---------------------------------------------------------------------------------------------


def _headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if endpoint.api_key_env:
        key = os.environ.get(endpoint.api_key_env)
        if not key:
            raise ModelConfigError(f"endpoint {endpoint.name!r}: the environment variable {endpoint.api_key_env} "
                                   "that holds its API key is not set")
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _params(n: int, temperature: float | None, max_tokens: int | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    params: dict[str, Any] = {"n": n} if n > 1 else {}  # some servers refuse ``n``; 1 is the default
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if extra:
        params.update(extra)
    return params


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after-ms")
    if value:
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value) / 1000))
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return min(MAX_RETRY_AFTER_S, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def _backoff(attempt: int, rng: random.Random) -> float:
    """Full jitter: a random wait up to base × 2^attempt, capped."""
    return rng.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** attempt))


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
        if isinstance(body.get("detail"), str):
            return str(body["detail"])[:300]
    return json.dumps(body)[:300]


Sleep = Callable[[float], None]


def _with_retries(endpoint: Endpoint, send: Callable[[], T], sleep: Sleep, rng: random.Random) -> T:
    """Run ``send`` with the endpoint's slot held, retrying what is worth retrying; the slot is
    released while waiting between attempts."""
    slot = _slot(endpoint)
    last: ModelError | None = None
    for attempt in range(endpoint.max_retries + 1):
        wait: float | None = None
        with slot:
            try:
                return send()
            except httpx.TimeoutException:
                last = ModelUnavailable(f"endpoint {endpoint.name!r}: no answer within {endpoint.timeout_s:g} s",
                                        attempts=attempt + 1)
            except httpx.TransportError as exc:
                last = ModelUnavailable(f"endpoint {endpoint.name!r}: cannot reach {endpoint.base_url} "
                                        f"({type(exc).__name__})", attempts=attempt + 1)
            except _RetryableStatus as exc:
                last = ModelUnavailable(f"endpoint {endpoint.name!r}: HTTP {exc.status}: {exc.detail}",
                                        status=exc.status, attempts=attempt + 1)
                wait = exc.retry_after
        if attempt < endpoint.max_retries:
            sleep(_backoff(attempt, rng) if wait is None else wait)
    assert last is not None
    raise last


class _RetryableStatus(Exception):
    def __init__(self, status: int, detail: str, retry_after: float | None):
        self.status, self.detail, self.retry_after = status, detail, retry_after


def _check_status(endpoint: Endpoint, response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    detail = _error_text(response)
    if response.status_code in RETRY_STATUS:
        raise _RetryableStatus(response.status_code, detail, _retry_after(response))
    raise ModelRequestError(f"endpoint {endpoint.name!r}: HTTP {response.status_code}: {detail}",
                            status=response.status_code)


def _usage_of(body: dict[str, Any]) -> tuple[int | None, int | None]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None, None
    pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (pt if isinstance(pt, int) else None), (ct if isinstance(ct, int) else None)


def complete(endpoint: Endpoint, messages: Sequence[Message], *, n: int = 1, temperature: float | None = None,
             max_tokens: int | None = None, extra: dict[str, Any] | None = None,
             sleep: Sleep = time.sleep, rng: random.Random | None = None) -> list[Completion]:
    """``n`` completions of ``messages`` (OpenAI chat format) from ``endpoint``, in choice order.

    ``extra`` adds request fields (``seed``, ``top_p``, ``stop``…); they are recorded in each
    completion's ``params``. A server that answers fewer than ``n`` choices (Ollama, llama.cpp
    ignore ``n``) is asked again for the rest. Raises :class:`ModelError` when no completion
    could be had."""
    if n < 1:
        raise ValueError("n must be at least 1")
    out: list[Completion] = []
    for _ in range(n):
        got = _complete_once(endpoint, messages, n=n - len(out), temperature=temperature, max_tokens=max_tokens,
                             extra=extra, sleep=sleep, rng=rng)
        for c in got[: n - len(out)]:
            out.append(Completion(text=c.text, model=c.model, endpoint=c.endpoint, params=c.params,
                                  index=len(out), finish_reason=c.finish_reason, usage=c.usage,
                                  created_at=c.created_at, extra=c.extra))
        if len(out) >= n:
            break
    return out


def _complete_once(endpoint: Endpoint, messages: Sequence[Message], *, n: int = 1, temperature: float | None = None,
             max_tokens: int | None = None, extra: dict[str, Any] | None = None,
             sleep: Sleep = time.sleep, rng: random.Random | None = None) -> list[Completion]:
    params = _params(n, temperature, max_tokens, extra)
    payload = {"model": endpoint.model, "messages": list(messages), **params}
    headers = _headers(endpoint)
    client = _client(endpoint)
    rng = rng or random.Random()
    started = time.monotonic()
    called_at = datetime.now(UTC)
    attempts_box = {"n": 0}

    def send() -> dict[str, Any]:
        attempts_box["n"] += 1
        response = client.post(endpoint.url, json=payload, headers=headers)
        _check_status(endpoint, response)
        try:
            body = response.json()
        except ValueError:
            raise ModelResponseError(f"endpoint {endpoint.name!r}: the answer is not JSON: "
                                     f"{response.text[:200]!r}") from None
        if not isinstance(body, dict):
            raise ModelResponseError(f"endpoint {endpoint.name!r}: the answer is not a JSON object")
        return body

    body = _with_retries(endpoint, send, sleep, rng)
    latency_ms = round((time.monotonic() - started) * 1000)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ModelResponseError(f"endpoint {endpoint.name!r}: the answer has no choices")
    pt, ct = _usage_of(body)
    usage = Usage(pt, ct, latency_ms, attempts_box["n"])
    model = body.get("model") if isinstance(body.get("model"), str) else endpoint.model
    out: list[Completion] = []
    for pos, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if text is None and isinstance(message, dict) and message.get("tool_calls"):
            text = ""
        if not isinstance(text, str):
            raise ModelResponseError(f"endpoint {endpoint.name!r}: choice {pos} has no message content")
        index = choice.get("index", pos)
        out.append(Completion(text=text, model=str(model), endpoint=endpoint.name, params=params,
                              index=index if isinstance(index, int) else pos,
                              finish_reason=choice.get("finish_reason"), usage=usage, created_at=called_at))
    out.sort(key=lambda c: c.index)
    return out


def complete_streaming(endpoint: Endpoint, messages: Sequence[Message], *, on_delta: Callable[[str], None],
                       temperature: float | None = None, max_tokens: int | None = None,
                       extra: dict[str, Any] | None = None, sleep: Sleep = time.sleep,
                       rng: random.Random | None = None) -> Completion:
    """One completion read as it is written (``"stream": true``): ``on_delta`` gets each piece of
    text as it arrives; the whole completion is returned at the end. A failure before the first
    piece is retried like :func:`complete`; one after it raises (the caller keeps what it got)."""
    params = _params(1, temperature, max_tokens, extra)
    payload = {"model": endpoint.model, "messages": list(messages), **params, "stream": True,
               "stream_options": {"include_usage": True}}
    headers = {**_headers(endpoint), "Accept": "text/event-stream"}
    client = _client(endpoint)
    rng = rng or random.Random()
    started = time.monotonic()
    called_at = datetime.now(UTC)
    attempts_box = {"n": 0}

    def send() -> tuple[str, str, str | None, int | None, int | None]:
        pieces: list[str] = []
        state: dict[str, Any] = {"model": endpoint.model, "finish": None, "pt": None, "ct": None}
        attempts_box["n"] += 1
        with client.stream("POST", endpoint.url, json=payload, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                _check_status(endpoint, response)
            done = False
            try:
                for line in response.iter_lines():
                    if _read_event(endpoint, line, pieces, state, on_delta):
                        done = True
                        break
            except httpx.HTTPError as exc:
                if not pieces:
                    raise  # nothing handed on yet: retried like any failed request
                raise ModelUnavailable(f"endpoint {endpoint.name!r}: the stream broke off after "
                                       f"{len(''.join(pieces))} characters ({type(exc).__name__})") from None
            if not done and state["finish"] is None:
                # Closed without [DONE] or a finish reason: the answer is cut short. What was
                # handed on stays with the caller; it is not asked again (it would repeat).
                raise ModelUnavailable(f"endpoint {endpoint.name!r}: the stream ended before the answer was "
                                       f"complete ({len(''.join(pieces))} characters)")
        return "".join(pieces), state["model"], state["finish"], state["pt"], state["ct"]

    text, model, finish, pt, ct = _with_retries(endpoint, send, sleep, rng)
    usage = Usage(pt, ct, round((time.monotonic() - started) * 1000), attempts_box["n"])
    return Completion(text=text, model=model, endpoint=endpoint.name, params=params, index=0,
                      finish_reason=finish, usage=usage, created_at=called_at)


def _read_event(endpoint: Endpoint, line: str, pieces: list[str], state: dict[str, Any],
                on_delta: Callable[[str], None]) -> bool:
    """Take in one line of a chat-completions event stream; True at ``data: [DONE]``."""
    if not line.startswith("data:"):
        return False
    data = line[5:].strip()
    if data == "[DONE]":
        return True
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ModelResponseError(f"endpoint {endpoint.name!r}: a stream event is not JSON: {data[:200]!r}") from None
    if not isinstance(chunk, dict):
        return False
    if chunk.get("error"):
        raise ModelRequestError(f"endpoint {endpoint.name!r}: the stream ended with an error: "
                                f"{str(chunk['error'])[:300]}")
    if isinstance(chunk.get("model"), str):
        state["model"] = chunk["model"]
    pt, ct = _usage_of(chunk)
    if pt is not None:
        state["pt"] = pt
    if ct is not None:
        state["ct"] = ct
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or {}
        piece = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(piece, str) and piece:
            pieces.append(piece)
            on_delta(piece)
        if choice.get("finish_reason"):
            state["finish"] = choice["finish_reason"]
    return False
