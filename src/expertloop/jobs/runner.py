"""The worker loop: claim a job, run its handler, record the outcome; sleep when idle.

Any number of runners may share a database, in any processes on any machines: each claim is
atomic (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). A runner that
dies mid-job leaves the job ``running`` until its lease lapses; then another runner reclaims it.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from ..services import jobs as queue
from ..services import progress
from .handlers import HANDLERS, Handler

log = logging.getLogger("expertloop.jobs")
SWEEP_SECONDS = 60


class JobRunner:
    def __init__(self, session_factory: sessionmaker[Session] | Callable[[], Session], *,
                 worker_id: str | None = None, handlers: Mapping[str, Handler] | None = None,
                 poll_seconds: float = 1.0, lease_seconds: int = queue.LEASE_SECONDS):
        self.session_factory = session_factory
        self.worker_id = worker_id or queue.default_worker_id()
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sweep = float("-inf")
        self._last_count = self._last_discover = float("-inf")

    def _recount_large_projects(self, session: Session) -> None:
        """Keep the progress counts of large projects current (``services.progress``); a
        failure here is logged and must not stop the jobs."""
        clock = time.monotonic()
        if clock - self._last_count < progress.REFRESH_SECONDS:
            return
        discover = clock - self._last_discover >= progress.DISCOVER_SECONDS
        self._last_count = clock
        if discover:
            self._last_discover = clock
        try:
            progress.refresh_large(session, discover=discover)
        except Exception:
            log.warning("recounting the progress of large projects failed; next try in %s s",
                        progress.REFRESH_SECONDS, exc_info=True)
            session.rollback()

    def run_once(self) -> dict | None:
        """Claim and run one job; the job as claimed, or None when none was due."""
        with self.session_factory() as session:
            self._recount_large_projects(session)
            if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
                queue.sweep_lapsed(session)  # jobs whose last attempt's worker died: failed for good
                self._last_sweep = time.monotonic()
            job = queue.claim_next(session, self.worker_id, kinds=tuple(self.handlers),
                                   lease_seconds=self.lease_seconds)
            if job is None:
                return None
            handler = self.handlers[job["kind"]]

            def progress(state: dict) -> None:
                # On a session of its own: a handler reports from inside its own units (an
                # export, every 20,000 records, from the read unit it streams them in), and a
                # unit cannot open inside another.
                with self.session_factory() as own:
                    queue.report_progress(own, job["id"], self.worker_id, state, lease_seconds=self.lease_seconds)

            try:
                result = handler(session, job, progress)
            except Exception as exc:
                log.warning("job %s (%s) failed on attempt %s", job["id"], job["kind"], job["attempts"],
                            exc_info=True)
                session.close()  # drop whatever the failed unit left behind
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                queue.fail(session, job["id"], self.worker_id, detail)
            else:
                queue.finish(session, job["id"], self.worker_id, result)
            return job

    def run_until_idle(self, max_jobs: int = 1000) -> int:
        """Run due jobs until none is left (tests, the benchmark, ``worker --once``)."""
        n = 0
        while n < max_jobs and self.run_once() is not None:
            n += 1
        return n

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # a database hiccup must not end the worker
                log.exception("the job runner could not claim a job; retrying")
                ran = None
            if ran is None:
                self._stop.wait(self.poll_seconds)

    def start(self) -> threading.Thread:
        """Run in a background daemon thread (the server's in-process runner)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="expertloop-jobs", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
