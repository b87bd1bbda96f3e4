"""A trainer's own work: counts by state, what they hold and have done per project, earnings,
and their tasks one page at a time.

Every figure is aggregated by the database over all of the expert's assignments and ledger
entries (a handful of grouped queries, whatever the history's length); only the page of rows
shown is loaded. Trainers read only their own summary; staff may read anyone's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, and_, case, cast, func, select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.errors import NotFound, PermissionDenied
from ..domain.money import fmt_usd, from_cents
from ..domain.policies import Actor, can_read_expert, require_expert
from ..domain.presentation import trainer_view
from ..storage.orm import Assignment, Expert, Item, LedgerEntry, Project
from .clock import utcnow
from .uow import reads
from .views import iso

PER_PAGE = 50
MAX_PER_PAGE = 200
WEEKS_SHOWN = 12
PREVIEW_CHARS = 200
# Work a trainer has handed in: the "All submitted" list of My work.
HANDED_IN = (AssignmentState.submitted, AssignmentState.accepted, AssignmentState.rejected)
EARNING = "earning"


@dataclass(frozen=True)
class ProjectEarnings:
    project_id: int | None
    project_name: str | None
    amount_usd: str
    minutes: str
    tasks: int


@dataclass(frozen=True)
class WeekEarnings:
    week: str          # ISO week, ``2026-W07``
    amount_usd: str


@dataclass(frozen=True)
class WorkSummary:
    """Figures over all of one expert's work."""

    expert_id: int
    counts: dict[AssignmentState, int]      # by state as the trainer sees it (a lapsed lease is expired)
    done_by_project: dict[int, int]         # handed-in tasks per project
    held: dict[int, int]                    # project id -> the live lease held there (the newest)
    total_usd: str
    minutes: str                            # paid minutes, exact
    tasks_paid: int
    by_project: tuple[ProjectEarnings, ...]
    by_week: tuple[WeekEarnings, ...]       # the last WEEKS_SHOWN ISO weeks that have earnings

    @property
    def handed_in(self) -> int:
        return sum(self.counts[s] for s in HANDED_IN)

    @property
    def acceptance(self) -> float | None:
        """Accepted share of reviewed tasks; None before any review."""
        reviewed = self.counts[AssignmentState.accepted] + self.counts[AssignmentState.rejected]
        return self.counts[AssignmentState.accepted] / reviewed if reviewed else None


@dataclass(frozen=True)
class WorkRow:
    assignment_id: int
    project_id: int
    project_name: str
    task_type: str
    state: AssignmentState
    submitted_at: str | None
    review_feedback: str | None
    preview: str                            # the start of the item's text as the trainer saw it


@dataclass(frozen=True)
class MyWork:
    summary: WorkSummary
    rows: tuple[WorkRow, ...]
    state: AssignmentState | None           # the filter: None is every handed-in task
    total: int                              # rows matching the filter, all pages
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _effective_state(now: datetime):
    """The state as the trainer sees it, in SQL: a leased row whose lease has lapsed is expired; a
    submitted blind re-test is submitted (unmarked)."""
    return case((and_(Assignment.state == AssignmentState.leased.value, Assignment.lease_expires_at <= now),
                 AssignmentState.expired.value),
                (Assignment.state == AssignmentState.retested.value, AssignmentState.submitted.value),
                else_=Assignment.state)


def _expert_id(session: Session, actor: Actor, expert_id: int | None) -> int:
    expert_id = require_expert(actor) if expert_id is None else expert_id
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own work")
    if session.get(Expert, expert_id) is None:
        raise NotFound(f"expert {expert_id} not found")
    return expert_id


@reads
def work_summary(session: Session, actor: Actor, expert_id: int | None = None) -> WorkSummary:
    """Counts, holdings and earnings over all of an expert's work (the caller's own by default)."""
    expert_id = _expert_id(session, actor, expert_id)
    now = utcnow()
    return _summary(session, expert_id, now)


def _summary(session: Session, expert_id: int, now: datetime) -> WorkSummary:
    state = _effective_state(now).label("state")
    counts = dict.fromkeys(AssignmentState, 0)
    done: dict[int, int] = defaultdict(int)
    for project_id, st, n in session.execute(
            select(Assignment.project_id, state, func.count()).where(Assignment.expert_id == expert_id)
            .group_by(Assignment.project_id, state)):
        counts[AssignmentState(st)] += n
        if st in HANDED_IN:
            done[project_id] += n
    held = dict(session.execute(
        select(Assignment.project_id, func.max(Assignment.id)).where(
            Assignment.expert_id == expert_id, Assignment.state == AssignmentState.leased.value,
            Assignment.lease_expires_at > now).group_by(Assignment.project_id)).all())

    # Minutes are stored as exact decimal text with two places: summed as integer hundredths.
    hundredths = cast(func.round(cast(LedgerEntry.minutes, Numeric(20, 2)) * 100), BigInteger)
    by_project = []
    total_cents = total_hundredths = tasks_paid = 0
    for project_id, name, cents, minutes, tasks in session.execute(
            select(LedgerEntry.project_id, Project.name, func.sum(LedgerEntry.amount_cents), func.sum(hundredths),
                   func.sum(case((LedgerEntry.kind == EARNING, 1), else_=0)))
            .outerjoin(Project, Project.id == LedgerEntry.project_id)
            .where(LedgerEntry.expert_id == expert_id)
            .group_by(LedgerEntry.project_id, Project.name).order_by(LedgerEntry.project_id)):
        cents, minutes, tasks = int(cents or 0), int(minutes or 0), int(tasks or 0)
        total_cents, total_hundredths, tasks_paid = total_cents + cents, total_hundredths + minutes, tasks_paid + tasks
        by_project.append(ProjectEarnings(project_id=project_id, project_name=name,
                                          amount_usd=fmt_usd(from_cents(cents)),
                                          minutes=str(Decimal(minutes) / 100), tasks=tasks))

    this_monday = now.date() - timedelta(days=now.date().weekday())
    since = datetime.combine(this_monday - timedelta(weeks=WEEKS_SHOWN - 1), time(), tzinfo=UTC)
    day = func.date(LedgerEntry.created_at).label("day")
    weeks: dict[str, int] = defaultdict(int)
    for d, cents in session.execute(
            select(day, func.sum(LedgerEntry.amount_cents)).where(
                LedgerEntry.expert_id == expert_id, LedgerEntry.created_at >= since).group_by(day)):
        year, week, _ = (d if isinstance(d, date) else date.fromisoformat(str(d))).isocalendar()
        weeks[f"{year}-W{week:02d}"] += int(cents or 0)

    return WorkSummary(
        expert_id=expert_id, counts=counts, done_by_project=dict(done), held=held,
        total_usd=fmt_usd(from_cents(total_cents)), minutes=str(Decimal(total_hundredths) / 100),
        tasks_paid=tasks_paid, by_project=tuple(by_project),
        by_week=tuple(WeekEarnings(week=w, amount_usd=fmt_usd(from_cents(c))) for w, c in sorted(weeks.items())))


def _preview(view: dict) -> str:
    for key in ("prompt", "text", "problem", "task", "response"):
        value = view.get(key)
        if isinstance(value, str) and value.strip():
            return value[:PREVIEW_CHARS]
    return ""


@reads
def my_work(session: Session, actor: Actor, *, state: AssignmentState | None = None, page: int = 1,
            per_page: int = PER_PAGE) -> MyWork:
    """The calling expert's summary and one page of their tasks, newest first: every handed-in
    task, or those in ``state`` (as the trainer sees it)."""
    expert_id = _expert_id(session, actor, None)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    now = utcnow()
    summary = _summary(session, expert_id, now)
    wanted = (AssignmentState(state),) if state is not None else HANDED_IN
    total = sum(summary.counts[s] for s in wanted)
    page = min(max(page, 1), max(1, -(-total // per_page)))
    effective = _effective_state(now)
    q = (select(Assignment.id, Assignment.project_id, Assignment.submitted_at, Assignment.review_feedback,
                Assignment.presentation, effective, Item.payload, Project.name, Project.task_type)
         .join(Item, Item.id == Assignment.item_id).join(Project, Project.id == Assignment.project_id)
         .where(Assignment.expert_id == expert_id, effective.in_([s.value for s in wanted]))
         .order_by(Assignment.id.desc()).limit(per_page).offset((page - 1) * per_page))
    rows = tuple(
        WorkRow(assignment_id=aid, project_id=project_id, project_name=name, task_type=task_type,
                state=AssignmentState(st), submitted_at=iso(submitted_at), review_feedback=feedback,
                preview=_preview(trainer_view(task_type, payload, presentation)))
        for aid, project_id, submitted_at, feedback, presentation, st, payload, name, task_type
        in session.execute(q))
    return MyWork(summary=summary, rows=rows, state=state, total=total, page=page, per_page=per_page)


__all__ = ["HANDED_IN", "MyWork", "ProjectEarnings", "WeekEarnings", "WorkRow", "WorkSummary", "my_work",
           "work_summary"]
