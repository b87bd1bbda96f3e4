"""The quality report as a stored snapshot: computed by a job, read by requests.

The report reads every judgment of a project (agreement with bootstrap intervals, bias tests,
scorecards, the model judges and FActScore sections), so no request computes it. A job does and
stores it in ``quality_snapshots`` with what it covered; pages, the API and the dashboards read
that copy, with the time it was computed (``computed_at``) and whether a newer one is on its way
(``refreshing``).

Which job computes it:

- projects with a consensus (label, preference, ranking, fact-check, steps, trajectory): the
  ``refit_consensus`` job, which every change to the judgments already queues (debounced), stores
  the report it computes from the new fit;
- the other task types: the ``refresh_quality`` job (:func:`refresh_snapshot`).

A request on a project without a snapshot queues the job (debounced: one waiting job per
project) and answers at once with ``status: "computing"``. For the task types without a
consensus (whose submits queue nothing), a snapshot older than :data:`REVALIDATE_SECONDS` when
read queues a refresh that recomputes only if the judgments it covered changed (new, rejected,
edited or withdrawn), and otherwise marks the snapshot current as of that check. Staff can ask for a refresh at any time
(:func:`request_refresh`: the console's button, ``POST /projects/{id}/quality/refresh``,
``expertloop quality --refresh``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..domain.policies import Actor, Role, require_staff
from ..domain.projects import TaskType
from ..domain.tasks import task_type as task_spec
from ..storage import repositories as repo
from ..storage.orm import Assignment, Job, Project, QualitySnapshot
from . import jobs
from .clock import utcnow
from .consensus import Consensus
from .projects import load_project
from .quality import project_quality
from .uow import read as uow_read
from .uow import reads, run_write, writes
from .views import iso

log = logging.getLogger(__name__)
STORED_BOOTSTRAP = 200   # resamples behind the stored report's intervals
STORED_CONSENSUS = 1000  # least-confident items the stored report lists
REVALIDATE_SECONDS = 300  # a snapshot read after this long queues a check for changed judgments
READY, COMPUTING = "ready", "computing"
_SYSTEM = Actor(role=Role.admin)  # the job computes the report for whoever may read it later


def refresh_kind(task_type: TaskType | str) -> str:
    """The job that computes a project's report: the consensus refit where there is a consensus."""
    return jobs.REFIT_CONSENSUS if task_spec(TaskType(task_type)).has_consensus else jobs.REFRESH_QUALITY


# -- computing (jobs) ----------------------------------------------------------------------------
Coverage = tuple[int, int | None, datetime | None]


def coverage(session: Session, project_id: int) -> Coverage:
    """What a report computed now would read: (counted judgments, the newest one's id, the
    latest review). A new, rejected, edited or withdrawn judgment changes it."""
    n, last = session.execute(select(func.count(), func.max(Assignment.id)).where(
        Assignment.project_id == project_id, repo.counted_judgment())).one()
    reviewed = session.execute(select(func.max(Assignment.reviewed_at))
                               .where(Assignment.project_id == project_id)).scalar_one()
    return int(n), last, reviewed


# Parts of the snapshot for the project page, not the report: left out of what the API serves.
PAGE_PARTS = ("activity", "agreement_by_day")


def compute_report(session: Session, project_id: int, fitted: Consensus | None = None) -> dict:
    """The full report with its model sections, and the project page's figures that read every
    judgment (``PAGE_PARTS``: per-day activity, agreement per day). A job calls this, never a
    request."""
    from .consensus import latest_consensus
    from .dashboards import activity, agreement_by_day

    report = project_quality(session, _SYSTEM, project_id, n_boot=STORED_BOOTSTRAP,
                             consensus_limit=STORED_CONSENSUS, consensus=fitted)
    task_type = TaskType(report["task_type"])
    if fitted is None and task_spec(task_type).has_consensus:
        fitted = latest_consensus(session, project_id, task_type)
    report["activity"] = activity(session, project_id)
    report["agreement_by_day"] = agreement_by_day(fitted)
    return with_model_sections(session, project_id, report)


def store_snapshot(session: Session, project_id: int, report: dict, covered: Coverage, *,
                   now: datetime | None = None) -> None:
    """Write the project's snapshot (inside the caller's write unit)."""
    row = session.get(QualitySnapshot, project_id)
    if row is None:
        row = QualitySnapshot(project_id=project_id)
        session.add(row)
    row.report, row.computed_at = report, now or utcnow()
    row.judgments, row.last_assignment_id, row.last_reviewed_at = covered
    session.flush()


def store_for_fit(session: Session, project_id: int, fitted: Consensus | None, covered: Coverage) -> bool:
    """The ``refit_consensus`` job's part: the report from the fit it just stored, kept as the
    snapshot. False when it could not be made (a report problem never loses the fit)."""
    try:
        with uow_read(session):
            report = compute_report(session, project_id, fitted)
    except Exception:
        log.warning("the quality report of project %s could not be computed", project_id, exc_info=True)
        return False
    run_write(session, lambda: store_snapshot(session, project_id, report, covered))
    return True


def refresh_snapshot(session: Session, project_id: int, *, force: bool = True) -> dict:
    """The ``refresh_quality`` job: compute the report (a read unit) and store it (a short write
    unit). Without ``force`` nothing is computed when the snapshot still covers exactly the
    project's judgments. Projects with a consensus are refitted, which stores the report."""
    with uow_read(session):
        project = session.get(Project, project_id)
        if project is None:
            return {"skipped": "project not found"}
        covered = coverage(session, project_id)
        stored = session.get(QualitySnapshot, project_id)
        unchanged = stored is not None and (stored.judgments, stored.last_assignment_id,
                                            stored.last_reviewed_at) == covered
        consensus = task_spec(TaskType(project.task_type)).has_consensus
    if unchanged and not force:  # still exact: it is now as of this check
        run_write(session, lambda: session.execute(update(QualitySnapshot).where(
            QualitySnapshot.project_id == project_id).values(computed_at=utcnow())))
        return {"judgments": covered[0], "unchanged": True}
    if consensus:
        from .consensus import refit_consensus

        return refit_consensus(session, project_id)
    with uow_read(session):
        report = compute_report(session, project_id)
    run_write(session, lambda: store_snapshot(session, project_id, report, covered))
    return {"judgments": covered[0], "stored": True}


def forget_snapshot(session: Session, project_id: int) -> None:
    """Drop the project's snapshot (inside the caller's write unit): for changes readers must
    never see the old report for, such as a consent withdrawal. The caller queues the job."""
    session.execute(delete(QualitySnapshot).where(QualitySnapshot.project_id == project_id))


# -- reading (requests) --------------------------------------------------------------------------
def _pending(session: Session, project_id: int) -> dict | None:
    """The project's waiting or running report job, if any: ``{"id", "state"}``."""
    row = session.execute(select(Job.id, Job.state).where(
        Job.project_id == project_id, Job.kind.in_((jobs.REFIT_CONSENSUS, jobs.REFRESH_QUALITY)),
        Job.state.in_((jobs.QUEUED, jobs.RUNNING))).order_by(Job.id.desc()).limit(1)).first()
    return None if row is None else {"id": row.id, "state": row.state}


@reads
def stored_report(session: Session, actor: Actor, project_id: int) -> dict | None:
    """The snapshot's report with ``computed_at``, or None when there is none yet (a pure read:
    it queues nothing; dashboards use it for their optional quality columns)."""
    require_staff(actor, "read quality reports")
    row = session.execute(select(QualitySnapshot.report, QualitySnapshot.computed_at)
                          .where(QualitySnapshot.project_id == project_id)).first()
    if row is None:
        return None
    return {**row.report, "computed_at": iso(row.computed_at)}


def quality_report(session: Session, actor: Actor, project_id: int, *, consensus_limit: int = STORED_CONSENSUS,
                   fresh: bool = False, now: datetime | None = None) -> dict:
    """The project's quality report as requests see it: the snapshot, never computed here.

    Always a dict with ``status`` (``"ready"``: the report's sections follow; ``"computing"``:
    no snapshot yet, the job is queued and only the identifying fields are present),
    ``computed_at`` (None while computing), ``refreshing`` (a job that will replace it is waiting
    or running) and ``job_id`` (that job). Reading a missing or old snapshot queues the job.

    ``fresh=True`` computes the report now instead, storing nothing: for callers outside any
    request (scripts, tests); the API and the pages never pass it."""
    now = now or utcnow()
    if fresh:
        with uow_read(session):
            require_staff(actor, "read quality reports")
            load_project(session, project_id)
            computed = compute_report(session, project_id)
        if isinstance(computed.get("consensus"), list):
            computed["consensus"] = computed["consensus"][:consensus_limit]
        return {**{k: v for k, v in computed.items() if k not in PAGE_PARTS}, "status": READY,
                "computed_at": None, "refreshing": False, "job_id": None}
    with uow_read(session):
        require_staff(actor, "read quality reports")
        project = load_project(session, project_id)
        task_type = project.task_type
        row = session.execute(select(QualitySnapshot.report, QualitySnapshot.computed_at)
                              .where(QualitySnapshot.project_id == project_id)).first()
        pending = _pending(session, project_id)
    job_id = pending["id"] if pending else None
    if pending is None and (row is None or row.computed_at < now - timedelta(seconds=REVALIDATE_SECONDS)):
        job_id = _queue(session, project_id, task_type, force=row is None)
    if row is None:
        return {"project_id": project_id, "task_type": task_type, "status": COMPUTING, "computed_at": None,
                "refreshing": True, "job_id": job_id}
    report: dict[str, Any] = {k: v for k, v in row.report.items() if k not in PAGE_PARTS}
    if isinstance(report.get("consensus"), list):
        report["consensus"] = report["consensus"][:consensus_limit]
    return {**report, "status": READY, "computed_at": iso(row.computed_at),
            "refreshing": job_id is not None, "job_id": job_id}


def _queue(session: Session, project_id: int, task_type: str, *, force: bool) -> int | None:
    """Queue the project's report job (debounced). ``force=False`` (an old snapshot, read) lets a
    ``refresh_quality`` job skip the work when nothing changed; a consensus project's judgments
    queue their own refit whenever they change, so an old snapshot there needs none."""
    kind = refresh_kind(task_type)
    if not force and kind == jobs.REFIT_CONSENSUS:
        return None

    def queue() -> int | None:
        return jobs.enqueue(session, kind, project_id=project_id, debounce=True,
                            payload=None if kind == jobs.REFIT_CONSENSUS else {"force": force})

    return run_write(session, queue)


@writes
def request_refresh(session: Session, actor: Actor, project_id: int) -> dict:
    """Queue a recomputation of the project's report now (staff): ``{"job_id", "project_id"}``.
    A job already waiting is reused, and made to recompute even if the judgments did not change."""
    require_staff(actor, "refresh quality reports")
    project = load_project(session, project_id)
    kind = refresh_kind(project.task_type)
    return {"project_id": project_id, "job_id": queue_forced_refresh(session, project_id, kind), "kind": kind}


def queue_forced_refresh(session: Session, project_id: int, kind: str) -> int | None:
    """Inside the caller's unit of work: queue the report job so that it recomputes even with the
    same judgments (gold, model work or a person asked). A job already waiting is reused and made
    to recompute: debouncing alone would keep a waiting ``force: false`` job that skips the work."""
    job_id = jobs.enqueue(session, kind, project_id=project_id, debounce=True,
                          payload=None if kind == jobs.REFIT_CONSENSUS else {"force": True})
    if kind == jobs.REFRESH_QUALITY and job_id is not None:
        session.execute(update(Job).where(Job.id == job_id, Job.state == jobs.QUEUED).values(payload={"force": True}))
    return job_id


@reads
def with_model_sections(session: Session, project_id: int, report: dict) -> dict:
    """``report`` with the model sections, read now: judges measured against the experts'
    current consensus, and fact-check scores per model (jobs and the CLI call this)."""
    from .factscore import factscore_section
    from .judging import judge_section

    out = {**report, "judges": judge_section(session, project_id)}
    facts = factscore_section(session, project_id)
    if facts is not None:
        out["factscore"] = facts
    return out
