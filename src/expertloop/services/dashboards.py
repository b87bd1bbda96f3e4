"""A project's dashboard for staff: progress, throughput per day, spend against budget, and a
row per trainer. Its own queries are aggregates that read no item payload.

Quality columns (gold accuracy, agreement with the consensus) come from the project's quality
snapshot (``services.reports``, computed by a job); until there is one they are ``None`` and pages
show "—".

Which work each figure reads (``repositories.counted_judgment`` is the definition of a
judgment that counts):

- "judgments collected" (progress), the quality columns and agreement over time: counted
  judgments only; neither rejected nor withdrawn work.
- submissions per day and the trainer table's volume and review columns (submitted, accepted,
  rejected, to review, acceptance rate): submitted work whose consent stands, rejected work
  included, because review outcomes are what those columns measure. Withdrawn work is in none.
- spend and earnings: the pay ledger, untouched by review or withdrawal (time worked was paid).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..domain.tasks import task_type as task_spec
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, LedgerEntry, Project, ProjectSpend
from . import progress as progress_counts
from .clock import utcnow
from .consensus import Consensus, latest_consensus
from .projects import load_project
from .uow import reads
from .views import project_view, usd

log = logging.getLogger(__name__)
JUDGED = (AssignmentState.submitted.value, AssignmentState.accepted.value, AssignmentState.rejected.value)
MAX_DAYS = 90
MIN_DAYS = 14  # a young project still gets a readable two-week axis
# Above this many counted judgments the per-day and per-trainer figures (two passes over the
# project's work and ledger) come from the quality snapshot's copy, as of its time.
LIVE_JUDGMENTS = 50_000


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@reads
def project_dashboard(session: Session, actor: Actor, project_id: int, *, now: datetime | None = None) -> dict:
    require_staff(actor, "see project dashboards")
    now = now or utcnow()
    project = load_project(session, project_id)
    progress = progress_counts.one(session, project.id, now)
    today = now.date()
    start = max(min(project.created_at.date(), today - timedelta(days=MIN_DAYS - 1)),
                today - timedelta(days=MAX_DAYS - 1))
    days = _days(start, today)

    snapshot = _snapshot(session, actor, project.id)
    as_of = None
    if progress["judgments"] > LIVE_JUDGMENTS:  # a programme: the job's figures, as of its snapshot
        work = _from_snapshot(snapshot)
        as_of = snapshot["computed_at"] if snapshot is not None else None
        spent = int(session.execute(select(ProjectSpend.spent_cents)
                                    .where(ProjectSpend.project_id == project.id)).scalar() or 0)
    else:
        work = activity(session, project.id)
        spent = sum(work["spend_per_day"].values())
    submitted = {date.fromisoformat(d): n for d, n in work["submitted_per_day"].items()}
    spend = {date.fromisoformat(d): c for d, c in work["spend_per_day"].items()}

    before = spent - sum(c for d, c in spend.items() if d >= start)
    cumulative, running = [], before
    for d in days:
        running += spend.get(d, 0)
        cumulative.append(running)
    recent = [spend.get(d, 0) for d in days[-7:]]
    daily_rate = sum(recent) / len(recent) if recent else 0
    days_left = None
    if project.budget_cents is not None and daily_rate > 0:
        days_left = max(0.0, (project.budget_cents - spent) / daily_rate)

    return {
        "project": project_view(project, staff=True, progress=progress, spent_cents=spent),
        "budget_cents": project.budget_cents,
        "spent_cents": spent,
        "days": [d.isoformat() for d in days],
        "submissions_per_day": [submitted.get(d, 0) for d in days],
        "spend_per_day_cents": [spend.get(d, 0) for d in days],
        "cumulative_spend_cents": cumulative,
        "avg_daily_spend_cents": round(daily_rate),
        "budget_days_left": None if days_left is None else round(days_left, 1),
        "trainers": _trainer_rows(session, work, snapshot),
        "agreement_per_day": _agreement_per_day(session, project, snapshot, days, live=as_of is None
                                                and progress["judgments"] <= LIVE_JUDGMENTS),
        "activity_as_of": as_of,
        "live": progress["judgments"] <= LIVE_JUDGMENTS,
    }


def activity(session: Session, project_id: int) -> dict:
    """Submissions and spend per day, and each trainer's work and earnings: two grouped passes
    over covering indexes (``ix_assignments_project_work``, ``ix_ledger_project_pay``). Read live
    on projects of up to ``LIVE_JUDGMENTS`` counted judgments; above that the quality job stores
    it in the project's snapshot (``services.reports``) and pages read that copy. JSON-ready."""
    submitted: dict[str, int] = {}
    trainers: dict[str, dict[str, list]] = {}
    for (expert_id, state, day), (n, seconds) in _judged_work(session, project_id).items():
        if day is not None:
            submitted[day.isoformat()] = submitted.get(day.isoformat(), 0) + n
        tally = trainers.setdefault(str(expert_id), {}).setdefault(state, [0, 0.0])
        tally[0] += n
        tally[1] += seconds
    spend: dict[str, int] = {}
    earned: dict[str, int] = {}
    for (expert_id, day), cents in _pay(session, project_id).items():
        spend[day.isoformat()] = spend.get(day.isoformat(), 0) + cents
        earned[str(expert_id)] = earned.get(str(expert_id), 0) + cents
    return {"submitted_per_day": submitted, "spend_per_day": spend, "trainers": trainers, "earned": earned}


def agreement_by_day(consensus: Consensus | None) -> dict[str, list[int]]:
    """Per day (ISO date): [judgments agreeing with ``consensus``, judgments] (JSON-ready)."""
    if consensus is None:
        return {}
    return {d.isoformat(): list(tally) for d, tally in consensus.agreement_by_day().items()}


def _snapshot(session: Session, actor: Actor, project_id: int) -> dict | None:
    from .reports import stored_report

    try:
        return stored_report(session, actor, project_id)
    except Exception:  # optional figures must never take the dashboard down (the quality API reports errors)
        log.warning("the quality snapshot of project %s is unreadable", project_id, exc_info=True)
        return None


def _from_snapshot(snapshot: dict | None) -> dict:
    empty: dict = {"submitted_per_day": {}, "spend_per_day": {}, "trainers": {}, "earned": {}}
    return (snapshot or {}).get("activity") or empty


def _categorical_consensus(session: Session, project: Project) -> Consensus | None:
    """The project's consensus, fitted once for both the trainer table and the daily agreement."""
    task_type = TaskType(project.task_type)
    if not task_spec(task_type).has_consensus:
        return None
    return latest_consensus(session, project.id, task_type)


def _agreement_per_day(session: Session, project: Project, snapshot: dict | None, days: list[date], *,
                       live: bool) -> list[int | None]:
    """Per day, the share (%) of that day's categorical judgments that agree with the consensus;
    None on days without judgments or for free-text and rubric projects. From the snapshot (the
    job computed it with the fit) when it has it; small projects without one ask the stored fit."""
    agree = (snapshot or {}).get("agreement_by_day")
    if agree is None:
        consensus = _categorical_consensus(session, project) if live else None
        agree = agreement_by_day(consensus)
    return [round(100 * agree[d.isoformat()][0] / agree[d.isoformat()][1]) if d.isoformat() in agree else None
            for d in days]


def _judged_work(session: Session, project_id: int) -> dict[tuple[int, str, date | None], tuple[int, float]]:
    """Judged work whose consent stands (rejected included), counted per (trainer, state, day of
    submission): ``(judgments, active seconds)``. One pass over the project's assignments, read
    from the covering index ``ix_assignments_project_work`` alone; the trainer table and the
    submissions per day are both sums of it."""
    day = func.date(Assignment.submitted_at)
    q = (select(Assignment.expert_id, Assignment.state, day, func.count(),
                func.coalesce(func.sum(Assignment.active_seconds), 0.0))
         .where(Assignment.project_id == project_id, Assignment.state.in_(JUDGED), repo.consent_stands())
         .group_by(Assignment.expert_id, Assignment.state, day))
    return {(expert_id, state, None if d is None else _day(d)): (n, float(seconds))
            for expert_id, state, d, n, seconds in session.execute(q).all()}


def _pay(session: Session, project_id: int) -> dict[tuple[int, date], int]:
    """The project's ledger summed per (trainer, day), in cents. One pass, read from the covering
    index ``ix_ledger_project_pay`` alone; spend per day, the total and each trainer's earnings
    are sums of it."""
    day = func.date(LedgerEntry.created_at)
    q = (select(LedgerEntry.expert_id, day, func.sum(LedgerEntry.amount_cents))
         .where(LedgerEntry.project_id == project_id).group_by(LedgerEntry.expert_id, day))
    return {(expert_id, _day(d)): int(cents) for expert_id, d, cents in session.execute(q).all()}


@reads
def trainer_rows(session: Session, actor: Actor, project_id: int) -> list[dict]:
    """Per trainer on a project: volume, review outcomes, active time, earnings, quality."""
    require_staff(actor, "see per-trainer figures")
    return _trainer_rows(session, activity(session, project_id), _snapshot(session, actor, project_id))


def _trainer_rows(session: Session, work: dict, snapshot: dict | None) -> list[dict]:
    rows: dict[int, dict] = {}
    for expert_key, states in work["trainers"].items():
        expert_id = int(expert_key)
        row = rows.setdefault(expert_id, {"expert_id": expert_id, "name": None, "submitted": 0,
                                          "accepted": 0, "rejected": 0, "pending_review": 0,
                                          "active_seconds": 0.0, "earned_cents": 0})
        for state, (n, seconds) in states.items():
            row["submitted"] += n
            row["active_seconds"] += seconds
            if state == AssignmentState.accepted.value:
                row["accepted"] += n
            elif state == AssignmentState.rejected.value:
                row["rejected"] += n
            else:
                row["pending_review"] += n
    if rows:
        for expert_id, name in session.execute(select(Expert.id, Expert.name).where(Expert.id.in_(list(rows)))):
            rows[expert_id]["name"] = name
    for expert_key, cents in work["earned"].items():
        if int(expert_key) in rows:
            rows[int(expert_key)]["earned_cents"] += cents
    quality = _quality(snapshot)
    out = []
    for row in sorted(rows.values(), key=lambda r: (-r["submitted"], r["name"])):
        own = quality.get(row["expert_id"], {})
        reviewed = row["accepted"] + row["rejected"]
        row.update(earned_usd=usd(row["earned_cents"]), active_seconds=round(row["active_seconds"], 1),
                   acceptance_rate=row["accepted"] / reviewed if reviewed else None,
                   gold_accuracy=own.get("gold_accuracy"), agreement=own.get("agreement"))
        out.append(row)
    return out


def _quality(snapshot: dict | None) -> dict[int, dict]:
    """Gold accuracy and agreement per trainer from the project's quality snapshot (a job's);
    empty (pages show "—") until the first one is computed: never computed on the request."""
    if snapshot is None:
        return {}
    return {card["expert_id"]: {"gold_accuracy": (card.get("gold") or {}).get("accuracy"),
                                "agreement": card.get("agreement_with_consensus")}
            for card in snapshot.get("trainers", [])}


@reads
def projects_overview(session: Session, actor: Actor) -> list[dict]:
    """Every project with progress, spend and work awaiting review (staff)."""
    require_staff(actor, "see every project")
    now = utcnow()
    # spend from the project_spend rows the ledger's triggers keep; the review queue from the
    # progress census (one pass over the covering index for every figure)
    spent = dict(session.execute(select(ProjectSpend.project_id, ProjectSpend.spent_cents)).all())
    out = []
    projects = list(session.execute(select(Project).order_by(Project.id)).scalars())
    progress = progress_counts.by_project(session, [p.id for p in projects], now)
    for p in projects:
        view = project_view(p, staff=True, progress=progress[p.id], spent_cents=int(spent.get(p.id) or 0))
        view.update(budget_cents=p.budget_cents, spent_cents=int(spent.get(p.id) or 0),
                    pending_review=progress[p.id]["pending_review"])
        out.append(view)
    return out
