"""Model endpoints as use cases: register, list, test; and :func:`call`, the one way the
product asks a model for completions and records that it did.

An endpoint row says where an OpenAI-compatible server is and which environment variable holds
its key (read by ``llm.client`` at call time: the key is never stored, returned or logged).
:func:`call` runs OUTSIDE any transaction — a model call can take a minute and must never hold
a write lock — so it is for jobs and the command line, never for a request's unit of work:
load the endpoint (a read unit), call the model (no transaction), record the call in
``model_calls`` (a write unit of its own), then hand the completions back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import llm
from ..domain.checks import text_problem
from ..domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from ..domain.policies import Actor, Role, require_staff
from ..storage.orm import Job, ModelCall, ModelEndpoint
from . import audit, jobs
from .clock import utcnow
from .uow import UnitOfWorkError, kind, reads, run_write, writes
from .views import iso

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_CONCURRENCY = 256
MAX_TIMEOUT_S = 3600.0
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 60.0
MAX_ERROR_CHARS = 2000
TEST_PROMPT = "Reply with the single word: ready"
TEST_MODEL = "test_model"  # the job kind of a console test call


def endpoint_view(row: ModelEndpoint) -> dict:
    """An endpoint as shown to staff: the key's variable NAME and whether it is set here, never
    its value."""
    return {"id": row.id, "name": row.name, "base_url": row.base_url, "model": row.model,
            "api_key_env": row.api_key_env,
            "api_key_set": bool(row.api_key_env and os.environ.get(row.api_key_env)) if row.api_key_env else None,
            "max_concurrency": row.max_concurrency, "timeout_s": row.timeout_s, "created_at": iso(row.created_at)}


def as_endpoint(row: ModelEndpoint) -> llm.Endpoint:
    return llm.Endpoint(name=row.name, base_url=row.base_url, model=row.model, api_key_env=row.api_key_env,
                        max_concurrency=row.max_concurrency, timeout_s=row.timeout_s)


def _check(name: Any, base_url: Any, model: Any, api_key_env: Any, max_concurrency: Any,
           timeout_s: Any) -> tuple[str, str, str, str | None, int, float]:
    problems: list[Problem] = []

    def text(value: Any, loc: str, limit: int) -> str:
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(loc, "is required (a non-empty string)"))
            return ""
        msg = text_problem(value) or (f"must be at most {limit} characters" if len(value) > limit else None)
        if msg:
            problems.append(Problem(loc, msg))
        return value.strip()

    name_s = text(name, "name", 64)
    if name_s and not NAME_RE.match(name_s):
        problems.append(Problem("name", "must start with a letter or digit and hold only letters, digits and . _ : -"))
    url = text(base_url, "base_url", 500)
    if url:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            parts = urlsplit("invalid:")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(Problem("base_url", "must be an http:// or https:// URL, such as http://localhost:8000/v1"))
        elif parts.query or parts.fragment:
            problems.append(Problem("base_url", "must not carry a query or fragment"))
        elif parts.username or parts.password:
            problems.append(Problem("base_url", "must not hold credentials; name an environment variable with "
                                                "--api-key-env instead"))
    model_s = text(model, "model", 200)
    env: str | None = None
    if api_key_env is not None and api_key_env != "":
        if not isinstance(api_key_env, str) or not ENV_RE.match(api_key_env):
            problems.append(Problem("api_key_env", "must be the NAME of an environment variable (letters, digits, "
                                                   "underscores), not the key itself"))
        elif api_key_env.startswith(("sk-", "sk_")):
            problems.append(Problem("api_key_env", "looks like a key; give the NAME of the environment variable "
                                                   "that holds it"))
        elif "KEY" not in api_key_env.upper() and "TOKEN" not in api_key_env.upper():
            # The named variable's value is sent to base_url: only names that say they hold a key,
            # so that an endpoint cannot carry, say, the database URL to a server of its choice.
            problems.append(Problem("api_key_env", "must name a variable that holds an API key: its name must "
                                                   "contain KEY or TOKEN (e.g. OPENAI_API_KEY)"))
        elif api_key_env.upper().startswith("EXPERTLOOP_") and "MODEL" not in api_key_env.upper():
            problems.append(Problem("api_key_env", "must not name one of expertloop's own settings"))
        else:
            env = api_key_env
    conc = DEFAULT_CONCURRENCY if max_concurrency is None else max_concurrency
    if isinstance(conc, bool) or not isinstance(conc, int) or not 1 <= conc <= MAX_CONCURRENCY:
        problems.append(Problem("max_concurrency", f"must be an integer from 1 to {MAX_CONCURRENCY}"))
        conc = DEFAULT_CONCURRENCY
    timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.1 <= timeout <= MAX_TIMEOUT_S:
        problems.append(Problem("timeout_s", f"must be a number of seconds from 0.1 to {MAX_TIMEOUT_S:g}"))
        timeout = DEFAULT_TIMEOUT_S
    if problems:
        raise ValidationFailed(problems)
    return name_s, url.rstrip("/"), model_s, env, int(conc), float(timeout)


@writes
def add_endpoint(session: Session, actor: Actor | None, name: Any, base_url: Any, model: Any, *,
                 api_key_env: Any = None, max_concurrency: Any = None, timeout_s: Any = None) -> dict:
    """Register an endpoint (``actor=None``: the operator at the command line). Admins only:
    the server sends the named variable's value to the endpoint's address."""
    if actor is not None and actor.role != Role.admin:
        raise PermissionDenied("only admins may register model endpoints (the server sends them its key)")
    name_s, url, model_s, env, conc, timeout = _check(name, base_url, model, api_key_env, max_concurrency, timeout_s)
    if session.execute(select(ModelEndpoint.id).where(ModelEndpoint.name == name_s)).first() is not None:
        raise Conflict(f"a model endpoint named {name_s!r} exists already")
    row = ModelEndpoint(name=name_s, base_url=url, model=model_s, api_key_env=env, max_concurrency=conc,
                        timeout_s=timeout, created_at=utcnow())
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # registered by someone else a moment ago
        raise Conflict(f"a model endpoint named {name_s!r} exists already") from None
    audit.record(session, actor, "model.registered", target=name_s,
                 detail={"base_url": url, "model": model_s, "api_key_env": env, "max_concurrency": conc,
                         "timeout_s": timeout})
    return endpoint_view(row)


@reads
def list_endpoints(session: Session, actor: Actor | None = None) -> list[dict]:
    """Every endpoint with what it has done: calls, failed calls, tokens in and out, the mean
    latency of its answered calls, its last test (``purpose="test"``) and whether a test job
    is waiting for it (``testing``)."""
    if actor is not None:
        require_staff(actor, "list model endpoints")
    rows = session.execute(select(ModelEndpoint).order_by(ModelEndpoint.name)).scalars().all()
    ok = case((ModelCall.status == "ok", 1), else_=0)
    stats = {r.endpoint_id: r for r in session.execute(
        select(ModelCall.endpoint_id, func.count().label("calls"), func.sum(1 - ok).label("errors"),
               func.sum(ModelCall.tokens_in).label("tokens_in"), func.sum(ModelCall.tokens_out).label("tokens_out"),
               func.sum(case((ModelCall.status == "ok", ModelCall.latency_ms), else_=0)).label("latency"),
               func.sum(ok).label("answered"))
        .group_by(ModelCall.endpoint_id)).all()}
    last_ids = select(func.max(ModelCall.id)).where(ModelCall.purpose == "test").group_by(ModelCall.endpoint_id)
    tests = {c.endpoint_id: c for c in session.execute(select(ModelCall).where(ModelCall.id.in_(last_ids))).scalars()}
    testing = {(j.payload or {}).get("name") for j in session.execute(
        select(Job).where(Job.kind == TEST_MODEL, Job.state.in_(("queued", "running")))).scalars()}
    out = []
    for r in rows:
        st, test = stats.get(r.id), tests.get(r.id)
        n = {k: int(getattr(st, k) or 0) if st is not None else 0
             for k in ("calls", "errors", "tokens_in", "tokens_out", "latency", "answered")}
        out.append({**endpoint_view(r), "calls": n["calls"], "errors": n["errors"], "tokens_in": n["tokens_in"],
                    "tokens_out": n["tokens_out"],
                    "mean_latency_ms": round(n["latency"] / n["answered"]) if n["answered"] else None,
                    "last_test": None if test is None else {
                        "ok": test.status == "ok", "at": iso(test.created_at), "latency_ms": test.latency_ms,
                        "model": test.model, "error": test.error},
                    "testing": r.name in testing})
    return out


@writes
def request_test(session: Session, actor: Actor | None, name: Any) -> dict:
    """Queue a ``test_model`` job: one short call to the endpoint, recorded like any call (its
    outcome is the endpoint's ``last_test``). For the console, where no request may wait on a
    model; the command line calls :func:`check_endpoint` itself."""
    if actor is not None:
        require_staff(actor, "test model endpoints")
    row = _row(session, name)
    job_id = jobs.enqueue(session, TEST_MODEL, payload={"name": row.name}, max_attempts=1)
    return {"name": row.name, "job_id": job_id}


@reads
def get_endpoint(session: Session, name: str) -> llm.Endpoint:
    """The endpoint named ``name``, ready for ``llm.complete`` (NotFound otherwise)."""
    row = _row(session, name)
    return as_endpoint(row)


def _row(session: Session, name: str) -> ModelEndpoint:
    if not isinstance(name, str) or not name:
        raise ValidationFailed("is required", loc="model")
    row = session.execute(select(ModelEndpoint).where(ModelEndpoint.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no model endpoint named {name!r}; register it with `expertloop models add`")
    return row


@reads
def endpoint_names(session: Session) -> set[str]:
    return set(session.execute(select(ModelEndpoint.name)).scalars())


@dataclass(frozen=True)
class CallRequest:
    """One call of a batch (:func:`call_many`)."""

    name: str
    messages: Sequence[llm.Message]
    n: int = 1
    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] | None = None


def call_many(session: Session, requests: Sequence[CallRequest], *, purpose: str, project_id: int | None = None,
              job_id: int | None = None, max_workers: int = 32) -> list[list[llm.Completion] | llm.ModelError]:
    """Run many calls at once (each endpoint still holds its own concurrency limit) and record
    them all in one write unit; per request, its completions or the ``ModelError`` it ended in.
    Like :func:`call`, never inside a unit of work."""
    if kind(session) is not None:
        raise UnitOfWorkError("a model call never runs inside a transaction; call it from a job, between units")
    if not requests:
        return []
    endpoints = {name: _load(session, name) for name in {r.name for r in requests}}
    workers = max(1, min(max_workers, len(requests), sum(ep.max_concurrency for _, ep in endpoints.values())))

    def one(r: CallRequest) -> list[llm.Completion] | llm.ModelError:
        try:
            return llm.complete(endpoints[r.name][1], r.messages, n=r.n, temperature=r.temperature,
                                max_tokens=r.max_tokens, extra=r.extra)
        except llm.ModelError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-call") as pool:
        results = list(pool.map(one, requests))

    def write() -> None:
        for r, got in zip(requests, results, strict=True):
            endpoint_id, ep = endpoints[r.name]
            if isinstance(got, llm.ModelError):
                _add_call(session, endpoint_id, purpose, project_id, job_id, ep.model, r.n,
                          {"temperature": r.temperature, "max_tokens": r.max_tokens, **(r.extra or {})},
                          None, None, 0, got.attempts, "error", got.message)
            else:
                usages = _usages(got)
                _add_call(session, endpoint_id, purpose, project_id, job_id, got[0].model, r.n, got[0].params,
                          *_tokens(got), sum(u.latency_ms for u in usages), sum(u.attempts for u in usages),
                          "ok", None)
        session.flush()

    run_write(session, write)
    return results


def _usages(completions: Sequence[llm.Completion]) -> list[llm.Usage]:
    return list({id(c.usage): c.usage for c in completions}.values())


def _tokens(completions: Sequence[llm.Completion]) -> tuple[int | None, int | None]:
    usages = _usages(completions)
    tin = sum(u.prompt_tokens or 0 for u in usages) if all(u.prompt_tokens is not None for u in usages) else None
    tout = (sum(u.completion_tokens or 0 for u in usages)
            if all(u.completion_tokens is not None for u in usages) else None)
    return tin, tout


def call(session: Session, name: str, messages: Sequence[llm.Message], *, purpose: str,
         project_id: int | None = None, job_id: int | None = None, n: int = 1, temperature: float | None = None,
         max_tokens: int | None = None, extra: dict[str, Any] | None = None,
         on_delta: Callable[[str], None] | None = None) -> list[llm.Completion]:
    """Ask endpoint ``name`` for ``n`` completions of ``messages`` and record the call.

    Never inside a unit of work (it raises ``UnitOfWorkError``): jobs and the command line call
    it between their units. ``on_delta`` streams the answer (``n`` must be 1). Every outcome,
    failures included, is a ``model_calls`` row; a failure re-raises the ``llm.ModelError``."""
    if kind(session) is not None:
        raise UnitOfWorkError("a model call never runs inside a transaction; call it from a job, between units")
    endpoint_id, endpoint = _load(session, name)
    try:
        if on_delta is not None:
            if n != 1:
                raise ValueError("a streamed call gives one completion (n=1)")
            completions = [llm.complete_streaming(endpoint, messages, on_delta=on_delta, temperature=temperature,
                                                  max_tokens=max_tokens, extra=extra)]
        else:
            completions = llm.complete(endpoint, messages, n=n, temperature=temperature, max_tokens=max_tokens,
                                       extra=extra)
    except llm.ModelError as exc:
        _record(session, endpoint_id, purpose, project_id, job_id, endpoint.model, n,
                {"temperature": temperature, "max_tokens": max_tokens, **(extra or {})}, None, None, 0,
                exc.attempts, "error", exc.message)
        raise
    usages = _usages(completions)
    _record(session, endpoint_id, purpose, project_id, job_id, completions[0].model, n, completions[0].params,
            *_tokens(completions), sum(u.latency_ms for u in usages), sum(u.attempts for u in usages), "ok", None)
    return completions


@reads
def _load(session: Session, name: str) -> tuple[int, llm.Endpoint]:
    row = _row(session, name)
    return row.id, as_endpoint(row)


def _record(session: Session, endpoint_id: int, purpose: str, project_id: int | None, job_id: int | None,
            model: str, n: int, params: dict | None, tokens_in: int | None, tokens_out: int | None,
            latency_ms: int, attempts: int, status: str, error: str | None) -> None:
    def write() -> None:
        _add_call(session, endpoint_id, purpose, project_id, job_id, model, n, params, tokens_in, tokens_out,
                  latency_ms, attempts, status, error)
        session.flush()

    run_write(session, write)


def _add_call(session: Session, endpoint_id: int, purpose: str, project_id: int | None, job_id: int | None,
              model: str, n: int, params: dict | None, tokens_in: int | None, tokens_out: int | None,
              latency_ms: int, attempts: int, status: str, error: str | None) -> None:
    session.add(ModelCall(endpoint_id=endpoint_id, project_id=project_id, job_id=job_id, purpose=purpose[:40],
                          model=model[:200], n=n, params={k: v for k, v in (params or {}).items() if v is not None},
                          tokens_in=tokens_in, tokens_out=tokens_out, latency_ms=latency_ms, attempts=attempts,
                          status=status, error=None if error is None else error[:MAX_ERROR_CHARS],
                          created_at=utcnow()))


def check_endpoint(session: Session, actor: Actor | None, name: str) -> dict:
    """Send one short prompt to the endpoint: whether it answered, how fast, with which model
    (recorded like any call, purpose ``test``). Not a transaction: it runs at the command line."""
    if actor is not None:
        require_staff(actor, "test model endpoints")
    try:
        [c] = call(session, name, [{"role": "user", "content": TEST_PROMPT}], purpose="test", max_tokens=16)
    except llm.ModelError as exc:
        return {"name": name, "ok": False, "error": exc.message, "status": exc.status, "attempts": exc.attempts}
    return {"name": name, "ok": True, "model": c.model, "latency_ms": c.latency_ms, "reply": c.text[:200],
            "prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens}


@reads
def list_calls(session: Session, actor: Actor | None = None, *, name: str | None = None,
               project_id: int | None = None, limit: int = 50) -> list[dict]:
    """Recent calls, newest first (staff)."""
    if actor is not None:
        require_staff(actor, "read model calls")
    if name is not None and (problem := text_problem(name)):
        raise ValidationFailed(problem, loc="model")
    q = (select(ModelCall, ModelEndpoint.name).join(ModelEndpoint, ModelEndpoint.id == ModelCall.endpoint_id)
         .order_by(ModelCall.id.desc()).limit(limit))
    if name is not None:
        q = q.where(ModelEndpoint.name == name)
    if project_id is not None:
        q = q.where(ModelCall.project_id == project_id)
    return [{"id": c.id, "endpoint": ep, "model": c.model, "purpose": c.purpose, "project_id": c.project_id,
             "job_id": c.job_id, "n": c.n, "params": c.params, "tokens_in": c.tokens_in, "tokens_out": c.tokens_out,
             "latency_ms": c.latency_ms, "attempts": c.attempts, "status": c.status, "error": c.error,
             "created_at": iso(c.created_at)} for c, ep in session.execute(q).all()]
