"""The jobs queue: atomic claims under concurrency, retries with backoff, lapsed leases
reclaimed, a runner that records failures, and debounced refits (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from expertloop.jobs import JobRunner
from expertloop.services import jobs, uow
from expertloop.services.clock import utcnow
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Job
from tests import factories as f

N_WORKERS = 8
N_JOBS = 60


def _enqueue(session, n, kind="test", **kw) -> list[int]:
    return [uow.run_write(session, lambda i=i: jobs.enqueue(session, kind, payload={"n": i}, **kw))
            for i in range(n)]


def test_concurrent_workers_each_claim_a_different_job(fresh_url):
    engine = make_engine(fresh_url, pool_size=N_WORKERS + 2)
    Session = make_sessionmaker(engine)
    with Session() as s:
        ids = _enqueue(s, N_JOBS)
    claimed: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_WORKERS)
    lock = threading.Lock()

    def work(w: int) -> None:
        try:
            barrier.wait()
            with Session() as s:
                while (job := jobs.claim_next(s, f"worker-{w}")) is not None:
                    with lock:
                        claimed.append(job["id"])
                    assert jobs.finish(s, job["id"], f"worker-{w}", {"ok": True})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(N_WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    assert not [i for i, n in Counter(claimed).items() if n > 1]
    with Session() as s, uow.read(s):
        states = dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    assert states == {"done": N_JOBS}
    engine.dispose()


def test_a_failed_job_is_retried_after_a_backoff_then_fails_for_good(session):
    [job_id] = _enqueue(session, 1, max_attempts=2)
    t0 = utcnow()
    job = jobs.claim_next(session, "a", now=t0)
    assert job["id"] == job_id and job["attempts"] == 1 and job["state"] == "running"
    assert jobs.fail(session, job_id, "a", "ValueError: boom", now=t0)
    assert jobs.claim_next(session, "a", now=t0 + timedelta(seconds=1)) is None  # backing off
    view = jobs.get_job(session, f.ADMIN, job_id)
    assert view["state"] == "queued" and view["error"] == "ValueError: boom"
    again = jobs.claim_next(session, "a", now=t0 + timedelta(seconds=jobs.BACKOFF_SECONDS + 1))
    assert again["id"] == job_id and again["attempts"] == 2
    assert jobs.fail(session, job_id, "a", "ValueError: boom again", now=t0)
    assert jobs.get_job(session, f.ADMIN, job_id)["state"] == "failed"
    assert jobs.claim_next(session, "a", now=t0 + timedelta(days=1)) is None


def test_a_job_whose_worker_died_is_reclaimed_once_its_lease_lapses(session):
    [job_id] = _enqueue(session, 1)
    t0 = utcnow()
    assert jobs.claim_next(session, "dead", now=t0, lease_seconds=60)["id"] == job_id
    assert jobs.claim_next(session, "alive", now=t0 + timedelta(seconds=30)) is None  # still leased
    taken = jobs.claim_next(session, "alive", now=t0 + timedelta(seconds=61))
    assert taken["id"] == job_id and taken["attempts"] == 2
    assert not jobs.finish(session, job_id, "dead", {"late": True})  # the old worker lost it
    assert jobs.finish(session, job_id, "alive", {"ok": True})
    assert jobs.get_job(session, f.ADMIN, job_id)["result"] == {"ok": True}


def test_the_runner_records_a_handler_failure_and_runs_the_retry(session_factory, session):
    [job_id] = _enqueue(session, 1, kind="flaky")
    calls = []

    def flaky(s, job, progress):
        calls.append(job["attempts"])
        progress({"step": "working"})
        if len(calls) == 1:
            raise RuntimeError("the model endpoint timed out")
        return {"answer": 42}

    runner = JobRunner(session_factory, handlers={"flaky": flaky}, worker_id="w")
    assert runner.run_once()["id"] == job_id
    view = jobs.get_job(session, f.ADMIN, job_id)
    assert view["state"] == "queued" and "timed out" in view["error"] and view["progress"] == {"step": "working"}
    uow.run_write(session, lambda: session.get(Job, job_id).__setattr__("run_after", utcnow()))  # skip the wait
    assert runner.run_until_idle() == 1
    view = jobs.get_job(session, f.ADMIN, job_id)
    assert view["state"] == "done" and view["result"] == {"answer": 42} and calls == [1, 2]


def test_refits_are_debounced_to_one_queued_job_per_project(session):
    p = f.project(session, "label", overlap=1)
    first = uow.run_write(session, lambda: jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=p["id"],
                                                         debounce=True))
    second = uow.run_write(session, lambda: jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=p["id"],
                                                          debounce=True))
    assert first == second
    assert jobs.claim_next(session, "w")["id"] == first  # claimed: the next refit queues anew
    third = uow.run_write(session, lambda: jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=p["id"],
                                                         debounce=True))
    assert third != first
    assert [j["state"] for j in jobs.list_jobs(session, f.ADMIN, project_id=p["id"])] == ["queued", "running"]


def test_a_job_whose_last_attempt_died_is_failed_by_the_sweep(session):
    [job_id] = _enqueue(session, 1, max_attempts=1)
    t0 = utcnow()
    assert jobs.claim_next(session, "dead", now=t0, lease_seconds=60)["id"] == job_id
    assert jobs.sweep_lapsed(session, now=t0 + timedelta(seconds=30)) == 0
    assert jobs.claim_next(session, "alive", now=t0 + timedelta(seconds=61)) is None  # no attempts left
    assert jobs.sweep_lapsed(session, now=t0 + timedelta(seconds=61)) == 1
    view = jobs.get_job(session, f.ADMIN, job_id)
    assert view["state"] == "failed" and "lease lapsed" in view["error"]
