"""The jobs table as use cases: enqueue (debounced), claim under a lease, report progress,
finish or fail with backoff, and read (staff).

A job is claimed the way a trainer claims an item: on PostgreSQL the row is locked
``FOR UPDATE SKIP LOCKED`` so any number of workers on any machine each take a different job;
on SQLite the claim runs in a ``BEGIN IMMEDIATE`` unit, which serialises claimers. A claimed
job holds a lease (``locked_until``); a worker that dies lets it lapse and another worker
reclaims the job, so jobs survive restarts. Handlers must therefore be safe to run twice.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from ..domain.errors import NotFound, ValidationFailed
from ..domain.policies import Actor, require_staff
from ..storage.db import is_sqlite
from ..storage.orm import Job
from .clock import utcnow
from .uow import reads, writes
from .views import iso

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
LEASE_SECONDS = 300           # a running job whose worker is silent this long is reclaimed
BACKOFF_SECONDS = 5           # first retry after this; doubles with each attempt
MAX_BACKOFF_SECONDS = 600
REFIT_CONSENSUS = "refit_consensus"
GENERATE_CANDIDATES = "generate_candidates"
JUDGE_ITEMS = "judge_items"
SPLIT_CLAIMS = "split_claims"
REFRESH_QUALITY = "refresh_quality"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_view(job: Job) -> dict:
    return {"id": job.id, "kind": job.kind, "project_id": job.project_id, "payload": job.payload, "state": job.state,
            "attempts": job.attempts, "max_attempts": job.max_attempts, "progress": job.progress,
            "result": job.result, "error": job.error, "created_at": iso(job.created_at),
            "run_after": iso(job.run_after), "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at), "locked_until": iso(job.locked_until)}


def enqueue(session: Session, kind: str, *, project_id: int | None = None, payload: dict | None = None,
            debounce: bool = False, max_attempts: int = 5, now: datetime | None = None) -> int | None:
    """Add a job to the caller's write unit (a job is queued only if the use case commits).

    With ``debounce`` at most one job of this kind and project waits: when one is queued already
    nothing is added and its id is returned (it will see this use case's writes when it runs)."""
    now = now or utcnow()
    key = f"{kind}:{project_id}" if debounce else None
    if key is not None:
        waiting = session.execute(_WAITING, {"key": key}).scalar_one_or_none()
        if waiting is not None:
            return waiting
        insert = _dialect_insert(session)
        stmt = (insert(Job).values(kind=kind, project_id=project_id, payload=payload, state=QUEUED,
                                   dedupe_key=key, attempts=0, max_attempts=max_attempts, run_after=now,
                                   created_at=now)
                .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Job.id))
        job_id = session.execute(stmt).scalar_one_or_none()
        if job_id is None:  # another transaction queued it a moment ago
            job_id = session.execute(_WAITING, {"key": key}).scalar_one_or_none()
        return job_id
    job = Job(kind=kind, project_id=project_id, payload=payload, state=QUEUED, attempts=0,
              max_attempts=max_attempts, run_after=now, created_at=now)
    session.add(job)
    session.flush()
    return job.id


# The debounce check runs on every submit of a project with consensus: built once.
_WAITING = select(Job.id).where(Job.dedupe_key == bindparam("key"))


def _dialect_insert(session: Session) -> Any:
    """``INSERT … ON CONFLICT`` is spelled per dialect in SQLAlchemy."""
    from sqlalchemy.dialects import postgresql, sqlite

    return sqlite.insert if is_sqlite(session) else postgresql.insert


@writes
def claim_next(session: Session, worker_id: str, *, kinds: tuple[str, ...] | None = None,
               lease_seconds: int = LEASE_SECONDS, now: datetime | None = None) -> dict | None:
    """Take the next runnable job (queued and due, or running with a lapsed lease) under a
    lease; None when there is none. Its debounce key is released, so new work queues anew."""
    now = now or utcnow()
    q = (select(Job).where(or_(and_(Job.state == QUEUED, Job.run_after <= now),
                               and_(Job.state == RUNNING, Job.locked_until < now,
                                    Job.attempts < Job.max_attempts)))
         .order_by(Job.run_after, Job.id).limit(1))
    if kinds:
        q = q.where(Job.kind.in_(kinds))
    if not is_sqlite(session):  # SQLite: the IMMEDIATE unit already excludes other claimers
        q = q.with_for_update(skip_locked=True)
    job = session.execute(q).scalar_one_or_none()
    if job is None:
        return None
    job.state, job.dedupe_key, job.locked_by = RUNNING, None, worker_id
    job.locked_until = now + timedelta(seconds=lease_seconds)
    job.attempts += 1
    job.started_at = now
    job.error = None
    session.flush()
    return {**job_view(job), "payload": job.payload}  # the handler's input


def _own(session: Session, job_id: int, worker_id: str) -> Job | None:
    """The job if this worker still holds it (its lease may have lapsed and been taken)."""
    job = session.get(Job, job_id, with_for_update=not is_sqlite(session))
    if job is None or job.state != RUNNING or job.locked_by != worker_id:
        return None
    return job


@writes
def report_progress(session: Session, job_id: int, worker_id: str, progress: dict, *,
                    lease_seconds: int = LEASE_SECONDS, now: datetime | None = None) -> bool:
    """Record progress and extend the lease; False when the job is no longer this worker's."""
    now = now or utcnow()
    job = _own(session, job_id, worker_id)
    if job is None:
        return False
    job.progress = progress
    job.locked_until = now + timedelta(seconds=lease_seconds)
    return True


@writes
def finish(session: Session, job_id: int, worker_id: str, result: dict | None, *,
           now: datetime | None = None) -> bool:
    job = _own(session, job_id, worker_id)
    if job is None:
        return False
    job.state, job.result, job.finished_at = DONE, result, now or utcnow()
    job.locked_by = job.locked_until = None
    return True


@writes
def fail(session: Session, job_id: int, worker_id: str, error: str, *, now: datetime | None = None) -> bool:
    """A failed run: queued again after a backoff (5 s, 10 s, 20 s, …) until its attempts are
    spent, then failed for good with the last error."""
    now = now or utcnow()
    job = _own(session, job_id, worker_id)
    if job is None:
        return False
    job.error = error[:4000]
    job.locked_by = job.locked_until = None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = FAILED, now
        return True
    job.state = QUEUED
    job.run_after = now + timedelta(seconds=min(BACKOFF_SECONDS * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS))
    return True


@writes
def sweep_lapsed(session: Session, *, now: datetime | None = None) -> int:
    """Mark running jobs whose lease lapsed and whose attempts are spent as failed (the rest are
    reclaimed by :func:`claim_next`). Returns how many."""
    now = now or utcnow()
    res = session.execute(update(Job).where(Job.state == RUNNING, Job.locked_until < now,
                                            Job.attempts >= Job.max_attempts)
                          .values(state=FAILED, finished_at=now, locked_by=None, locked_until=None,
                                  error="the worker stopped before finishing (lease lapsed)"))
    return getattr(res, "rowcount", 0) or 0


@reads
def get_job(session: Session, actor: Actor, job_id: int) -> dict:
    require_staff(actor, "see jobs")
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job_view(job)


@reads
def list_jobs(session: Session, actor: Actor, *, project_id: int | None = None, state: str | None = None,
              limit: int = 50) -> list[dict]:
    """Newest first; staff only."""
    require_staff(actor, "see jobs")
    if state is not None and state not in STATES:
        raise ValidationFailed(f"must be one of {', '.join(STATES)}", loc="state")
    q = select(Job).order_by(Job.id.desc()).limit(min(max(limit, 1), 500))
    if project_id is not None:
        q = q.where(Job.project_id == project_id)
    if state is not None:
        q = q.where(Job.state == state)
    return [job_view(j) for j in session.execute(q).scalars()]
