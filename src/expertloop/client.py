"""A Python client for the expertloop REST API.

    from expertloop.client import Client

    with Client("http://127.0.0.1:8000", token="el_…") as api:
        project = api.create_project({"name": "Pairs", "task_type": "preference", "guidelines": "…"})
        api.import_items(project["id"], [{"external_id": "q1", "prompt": "…", "responses": ["a", "b"]}])
        task = api.next_task(project["id"])            # None when nothing is left
        api.submit(task.assignment_id, {"choice": 0, "strength": 2})
        for record in api.export(project["id"], "preference"):
            ...

The client speaks only HTTP (it imports nothing of the server), so it runs wherever ``httpx`` does.
Every method names its route in :data:`ENDPOINTS`; a test checks each against the server's
``/openapi.json`` so the two cannot drift apart.

Retries: calls that are safe to repeat — reads, PUT, DELETE, and a submit, which always carries an
``Idempotency-Key`` (one is made when none is given) — are retried on connection errors and on
429/502/503/504, with exponential backoff and ``Retry-After`` honoured. Other writes are sent once.
Errors raise :class:`ApiError` with the server's ``detail`` and located ``errors``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

__all__ = ["ENDPOINTS", "ApiError", "Client", "Task"]

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

#: Every route the client calls: name → (method, path template under /api/v1).
ENDPOINTS: dict[str, tuple[Method, str]] = {
    "me": ("GET", "/me"),
    "experts": ("GET", "/experts"),
    "expert": ("GET", "/experts/{expert_id}"),
    "create_expert": ("POST", "/experts"),
    "set_expert_status": ("POST", "/experts/{expert_id}/status"),
    "earnings": ("GET", "/experts/{expert_id}/earnings"),
    "projects": ("GET", "/projects"),
    "project": ("GET", "/projects/{project_id}"),
    "create_project": ("POST", "/projects"),
    "import_items": ("POST", "/projects/{project_id}/items"),
    "publish_terms": ("PUT", "/projects/{project_id}/terms"),
    "terms": ("GET", "/projects/{project_id}/consent"),
    "agree": ("POST", "/projects/{project_id}/consent"),
    "next_task": ("POST", "/projects/{project_id}/assignments/next"),
    "assignments": ("GET", "/assignments"),
    "assignment": ("GET", "/assignments/{assignment_id}"),
    "heartbeat": ("POST", "/assignments/{assignment_id}/heartbeat"),
    "release": ("POST", "/assignments/{assignment_id}/release"),
    "submit": ("POST", "/assignments/{assignment_id}/submit"),
    "chat": ("GET", "/assignments/{assignment_id}/chat"),
    "chat_action": ("POST", "/assignments/{assignment_id}/chat"),
    "review_queue": ("GET", "/reviews/queue"),
    "review": ("POST", "/assignments/{assignment_id}/review"),
    "quality": ("GET", "/projects/{project_id}/quality"),
    "export": ("GET", "/projects/{project_id}/export"),
    "jobs": ("GET", "/jobs"),
    "job": ("GET", "/jobs/{job_id}"),
    "tokens": ("GET", "/tokens"),
    "issue_token": ("POST", "/tokens"),
    "revoke_token": ("DELETE", "/tokens/{token_id}"),
    "invitations": ("GET", "/invitations"),
    "invite": ("POST", "/invitations"),
    "revoke_invitation": ("DELETE", "/invitations/{invitation_id}"),
    "audit": ("GET", "/audit"),
    "signing_key": ("GET", "/signing-key"),
    "signed_export": ("POST", "/projects/{project_id}/export/signed"),
    "export_job": ("GET", "/exports/{export_id}"),
    "download_export": ("GET", "/exports/{export_id}/download"),
    "revocations": ("GET", "/projects/{project_id}/revocations"),
    "authenticity_queue": ("GET", "/projects/{project_id}/authenticity"),
    "my_flags": ("GET", "/authenticity/mine"),
    "decide_flag": ("POST", "/authenticity/{check_id}/decision"),
    "reply_to_flag": ("POST", "/authenticity/{check_id}/reply"),
    "models": ("GET", "/models"),
    "add_model": ("POST", "/models"),
    "set_project_models": ("PATCH", "/projects/{project_id}/models"),
    "generate": ("POST", "/projects/{project_id}/generate"),
    "judge": ("POST", "/projects/{project_id}/judge"),
    "factscore": ("GET", "/projects/{project_id}/factscore"),
    "model_calls": ("GET", "/model-calls"),
}

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IMPORT_BATCH = 1000  # items per request: well under the server's body limits, few round trips


class ApiError(Exception):
    """A 4xx or 5xx answer: ``status``, the server's ``detail`` and its located ``errors``."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(f"{status}: {detail}")
        self.status, self.detail, self.errors = status, detail, errors or []


@dataclass(frozen=True)
class Task:
    """A leased assignment: the item as the trainer sees it and when the lease runs out."""

    assignment_id: int
    project_id: int
    task_type: str
    item: dict[str, Any]
    lease_expires_at: str | None
    raw: dict[str, Any] = field(repr=False)


class Client:
    """The REST API as methods. ``base_url`` defaults to ``$EXPERTLOOP_URL`` (else
    ``http://127.0.0.1:8000``), ``token`` to ``$EXPERTLOOP_TOKEN``; ``http`` lets a caller pass its
    own ``httpx.Client`` (proxies, the application's test client)."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *,
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 http: httpx.Client | None = None):
        token = token if token is not None else os.environ.get("EXPERTLOOP_TOKEN")
        base_url = base_url or os.environ.get("EXPERTLOOP_URL") or "http://127.0.0.1:8000"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._headers = headers
        self.retries, self.backoff = retries, backoff

    # -- plumbing ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, name: str, path_params: dict[str, int]) -> tuple[Method, str]:
        method, template = ENDPOINTS[name]
        return method, "/api/v1" + template.format(**path_params)

    def _send(self, name: str, *, path: dict[str, int] | None = None, params: dict[str, Any] | None = None,
              body: Any = None, headers: dict[str, str] | None = None, retry: bool | None = None) -> httpx.Response:
        method, url = self._url(name, path or {})
        retry = method in ("GET", "PUT", "DELETE") if retry is None else retry
        params = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = self.retries + 1 if retry else 1
        sent = {**self._headers, **(headers or {})}
        content = None
        if body is not None:
            content, sent["Content-Type"] = json.dumps(body), "application/json"
        for attempt in range(attempts):
            try:
                r = self._http.request(method, url, params=params, headers=sent, content=content)
            except httpx.TransportError:
                if attempt + 1 >= attempts:
                    raise
                self._sleep(attempt, None)
                continue
            if r.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self._sleep(attempt, r.headers.get("Retry-After"))
                continue
            if r.status_code >= 400:
                raise _error(r)
            return r
        raise AssertionError("unreachable")  # the loop returns or raises

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** attempt
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date instead of seconds: keep the backoff
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, 30.0))

    def _json(self, name: str, **kwargs: Any) -> Any:
        return self._send(name, **kwargs).json()

    # -- who am I ---------------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        return self._json("me")

    # -- experts ----------------------------------------------------------------------------------
    def experts(self) -> list[dict[str, Any]]:
        return self._json("experts")

    def expert(self, expert_id: int) -> dict[str, Any]:
        return self._json("expert", path={"expert_id": expert_id})

    def create_expert(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._json("create_expert", body=data)

    def set_expert_status(self, expert_id: int, status: str) -> dict[str, Any]:
        return self._json("set_expert_status", path={"expert_id": expert_id}, body={"status": status})

    def earnings(self, expert_id: int) -> dict[str, Any]:
        return self._json("earnings", path={"expert_id": expert_id})

    # -- projects and items -----------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        return self._json("projects")

    def project(self, project_id: int) -> dict[str, Any]:
        return self._json("project", path={"project_id": project_id})

    def create_project(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self._json("create_project", body=spec)

    def import_items(self, project_id: int, items: Iterable[dict[str, Any]], *,
                     batch_size: int = IMPORT_BATCH) -> dict[str, int]:
        """Import items in batches (each all-or-nothing, idempotent by ``external_id``, so a
        failed run can simply be repeated); returns the summed counts of every batch."""
        totals: dict[str, int] = {}
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            result = self._json("import_items", path={"project_id": project_id}, body=batch)
            for key, value in result.items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
            batch.clear()

        for item in items:
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        return totals

    def publish_terms(self, project_id: int, terms: str) -> dict[str, Any]:
        return self._json("publish_terms", path={"project_id": project_id}, body={"terms": terms})

    def terms(self, project_id: int) -> dict[str, Any]:
        return self._json("terms", path={"project_id": project_id})

    def agree(self, project_id: int, terms_version: int) -> dict[str, Any]:
        return self._json("agree", path={"project_id": project_id}, body={"terms_version": terms_version})

    # -- work -------------------------------------------------------------------------------------
    def next_task(self, project_id: int) -> Task | None:
        """Lease the next item, or None when nothing is left for this expert."""
        r = self._send("next_task", path={"project_id": project_id})
        if r.status_code == 204:
            return None
        data = r.json()
        return Task(assignment_id=data["assignment_id"], project_id=data["project_id"], task_type=data["task_type"],
                    item=data["item"], lease_expires_at=data.get("lease_expires_at"), raw=data)

    def tasks(self, project_id: int) -> Iterator[Task]:
        """Lease one task after another until none is left (submit or release each in the loop)."""
        while (task := self.next_task(project_id)) is not None:
            yield task

    def heartbeat(self, assignment_id: int) -> dict[str, Any]:
        return self._json("heartbeat", path={"assignment_id": assignment_id}, retry=True)

    def release(self, assignment_id: int) -> dict[str, Any]:
        return self._json("release", path={"assignment_id": assignment_id})

    def chat(self, assignment_id: int) -> dict[str, Any]:
        """A live chat's conversation; a turn whose answer is being generated is ``pending``."""
        return self._json("chat", path={"assignment_id": assignment_id})

    def chat_action(self, assignment_id: int, action: str, **fields: Any) -> dict[str, Any]:
        """One action on a live chat: ``send`` (``text``, ``at``), ``regenerate`` (``turn``),
        ``decide`` (``turn``, ``chosen``, ``rating``, ``rewrite``) or ``failure`` (``turn``,
        ``category``, ``note``). Returns the conversation; poll :meth:`chat` while it is pending."""
        return self._json("chat_action", path={"assignment_id": assignment_id}, body={"action": action, **fields})

    def submit(self, assignment_id: int, response: Any, *, idempotency_key: str | None = None,
               **extra: Any) -> dict[str, Any]:
        """Submit a typed response. Safe to retry: the same key returns the first result."""
        key = idempotency_key or uuid.uuid4().hex
        return self._json("submit", path={"assignment_id": assignment_id}, body={"response": response, **extra},
                          headers={"Idempotency-Key": key}, retry=True)

    def assignments(self, *, project_id: int | None = None, expert_id: int | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
        return self._json("assignments", params={"project_id": project_id, "expert_id": expert_id, "limit": limit})

    def assignment(self, assignment_id: int) -> dict[str, Any]:
        return self._json("assignment", path={"assignment_id": assignment_id})

    # -- review -----------------------------------------------------------------------------------
    def review_queue(self, **params: Any) -> Any:
        return self._json("review_queue", params=params)

    def review(self, assignment_id: int, verdict: str, **fields: Any) -> dict[str, Any]:
        return self._json("review", path={"assignment_id": assignment_id}, body={"verdict": verdict, **fields})

    # -- quality and exports ----------------------------------------------------------------------
    def quality(self, project_id: int, *, fresh: bool = False, **params: Any) -> dict[str, Any]:
        return self._json("quality", path={"project_id": project_id}, params={"fresh": fresh or None, **params})

    def export(self, project_id: int, format: str, *, consensus: bool = False, min_judgments: int | None = None,
               min_confidence: float | None = None, judge_settled: bool = False) -> Iterator[dict[str, Any]]:
        """Stream a project's records (JSON Lines) one dict at a time, at flat memory;
        ``judge_settled`` adds the items a judge settled alone (``metadata.decided_by == "judge"``)."""
        method, url = self._url("export", {"project_id": project_id})
        params = {"format": format, "consensus": consensus or None, "min_judgments": min_judgments,
                  "min_confidence": min_confidence, "judge_settled": judge_settled or None}
        with self._http.stream(method, url, params={k: v for k, v in params.items() if v is not None},
                               headers=self._headers) as r:
            if r.status_code >= 400:
                r.read()
                raise _error(r)
            for line in r.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def export_dataset(self, project_id: int, format: str, **options: Any) -> Any:
        """The export as a Hugging Face ``datasets.Dataset`` (needs the ``datasets`` package)."""
        try:
            import datasets  # type: ignore[import-untyped]
        except ImportError:  # an optional extra: say what to install rather than fail obscurely
            raise ImportError("export_dataset needs the `datasets` package: pip install datasets") from None
        records = list(self.export(project_id, format, **options))
        return datasets.Dataset.from_list(records)

    # -- jobs, tokens, audit ----------------------------------------------------------------------
    def jobs(self, *, project_id: int | None = None, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return self._json("jobs", params={"project_id": project_id, "state": state, "limit": limit})

    def job(self, job_id: int) -> dict[str, Any]:
        return self._json("job", path={"job_id": job_id})

    def wait_for_job(self, job_id: int, *, timeout: float = 600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll a job until it is done or failed (or ``timeout`` seconds pass: TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout:.0f} s")
            time.sleep(poll)

    def tokens(self) -> list[dict[str, Any]]:
        return self._json("tokens")

    def issue_token(self, role: str, expert_id: int | None = None, label: str | None = None) -> dict[str, Any]:
        return self._json("issue_token", body={"role": role, "expert_id": expert_id, "label": label})

    def revoke_token(self, token_id: int) -> dict[str, Any]:
        return self._json("revoke_token", path={"token_id": token_id})

    def invitations(self) -> list[dict[str, Any]]:
        """Invitations, newest first, without their secrets (staff)."""
        return self._json("invitations")

    def invite(self, name: str, email: str, role: str = "trainer", **profile: Any) -> dict[str, Any]:
        """A single-use sign-up link for a new expert (``profile``: degree, domains, languages,
        hourly_rate_usd, country, expires_hours); ``secret`` and ``path`` come back once."""
        return self._json("invite", body={"name": name, "email": email, "role": role, **profile})

    def revoke_invitation(self, invitation_id: int) -> dict[str, Any]:
        return self._json("revoke_invitation", path={"invitation_id": invitation_id})

    def audit(self, *, project_id: int | None = None, action: str | None = None, before: int | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
        return self._json("audit", params={"project_id": project_id, "action": action, "before": before,
                                           "limit": limit})


    # -- passports and authenticity ---------------------------------------------------------------
    def signing_key(self) -> dict[str, Any]:
        """The server's Ed25519 public key and its fingerprint (pin it for `expertloop verify --trust`)."""
        return self._json("signing_key")

    def request_signed_export(self, project_id: int, format: str, *, hub: bool = False,
                              **options: Any) -> dict[str, Any]:
        """Queue a ZIP of the export with its signed manifest.json (``hub=True``: a Hugging Face
        Hub folder); returns the export job (follow it with :meth:`export_job`)."""
        params = {"format": format, "hub": hub or None,
                  **{k: (v if not isinstance(v, bool) else (v or None)) for k, v in options.items()}}
        return self._json("signed_export", path={"project_id": project_id}, params=params)

    def export_job(self, export_id: int) -> dict[str, Any]:
        return self._json("export_job", path={"export_id": export_id})

    def download_export(self, export_id: int) -> bytes:
        """The file of a finished export job."""
        return self._send("download_export", path={"export_id": export_id}).content

    def signed_export(self, project_id: int, format: str, *, hub: bool = False, timeout: float = 600.0,
                      **options: Any) -> bytes:
        """Queue a signed export, wait for the server's worker to write it, and return the ZIP."""
        job = self.request_signed_export(project_id, format, hub=hub, **options)
        done = self.wait_for_job(job["id"], timeout=timeout)
        if done["state"] != "done":
            raise ApiError(500, f"signed export {job['id']} failed: {done.get('error')}", [])
        return self.download_export(job["id"])

    def revocations(self, project_id: int) -> dict[str, Any]:
        """The signed list of judgments whose author withdrew consent."""
        return self._json("revocations", path={"project_id": project_id})

    def authenticity_queue(self, project_id: int, *, status: str = "flagged", limit: int = 100) -> list[dict[str, Any]]:
        return self._json("authenticity_queue", path={"project_id": project_id},
                          params={"status": status, "limit": limit})

    def my_flags(self) -> list[dict[str, Any]]:
        return self._json("my_flags")

    def decide_flag(self, check_id: int, outcome: str, note: str | None = None) -> dict[str, Any]:
        return self._json("decide_flag", path={"check_id": check_id}, body={"outcome": outcome, "note": note})

    def reply_to_flag(self, check_id: int, reply: str) -> dict[str, Any]:
        return self._json("reply_to_flag", path={"check_id": check_id}, body={"reply": reply})

    # -- models in the loop -----------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        """Registered model endpoints (never a key: only its variable's name and whether it is set)."""
        return self._json("models")

    def add_model(self, name: str, base_url: str, model: str, *, api_key_env: str | None = None,
                  max_concurrency: int | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """Register an OpenAI-compatible endpoint (admins); the key stays in ``api_key_env`` on the server."""
        body = {"name": name, "base_url": base_url, "model": model, "api_key_env": api_key_env,
                "max_concurrency": max_concurrency, "timeout_s": timeout_s}
        return self._json("add_model", body={k: v for k, v in body.items() if v is not None})

    def set_project_models(self, project_id: int, **settings: Any) -> dict[str, Any]:
        """Set (or clear with None) ``candidates``, ``claims``, ``judge_first``, ``ai_assistance``."""
        return self._json("set_project_models", path={"project_id": project_id}, body=settings)

    def generate(self, project_id: int) -> dict[str, Any]:
        """Queue (or resume) candidate generation; follow ``job_id`` with :meth:`wait_for_job`."""
        return self._json("generate", path={"project_id": project_id})

    def judge(self, project_id: int, model: str) -> dict[str, Any]:
        """Queue an LLM judge over the project's items; its answers never enter consensus or pay."""
        return self._json("judge", path={"project_id": project_id}, body={"model": model})

    def factscore(self, project_id: int) -> dict[str, Any]:
        """Supported / refuted / not-enough-info shares of claims per model that wrote the responses."""
        return self._json("factscore", path={"project_id": project_id})

    def model_calls(self, *, model: str | None = None, project_id: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]:
        return self._json("model_calls", params={"model": model, "project_id": project_id, "limit": limit})


def _error(r: httpx.Response) -> ApiError:
    try:
        body = r.json()
    except ValueError:
        return ApiError(r.status_code, r.text[:500] or r.reason_phrase)
    if isinstance(body, dict):
        return ApiError(r.status_code, str(body.get("detail", r.reason_phrase)), body.get("errors"))
    return ApiError(r.status_code, r.reason_phrase)
