"""Leasing, heartbeats, release and submit: the trainer's loop, safe under concurrency.

The claim runs in one write transaction: on SQLite ``BEGIN IMMEDIATE`` serialises claimers;
on PostgreSQL each claimer locks its candidate item ``FOR UPDATE SKIP LOCKED`` and re-counts
the item's free slots under that lock before inserting. Either way no item ever holds more
live leases plus judgments than its overlap, and no expert holds two on one item.
"""

from __future__ import annotations

import functools
import random
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..domain.assignments import AssignmentState, add_active_time, lease_expiry
from ..domain.authenticity import parse_signals
from ..domain.errors import BudgetExhausted, Conflict, LeaseExpired, NotFound, PermissionDenied
from ..domain.lifecycle import takes_work
from ..domain.money import from_cents, to_cents
from ..domain.payments import billable_minutes, pay_within, reserved_for_lease, worst_case_lease_cost
from ..domain.policies import Actor, can_see_assignment, can_work_on, require_expert
from ..domain.presentation import make_presentation
from ..domain.projects import TaskType
from ..domain.responses import parse_response
from ..domain.tasks import task_type
from ..storage import repositories as repo
from ..storage.db import is_sqlite
from ..storage.orm import Assignment, Expert, Item, LedgerEntry, Project
from . import ai_help, experiments, payroll, retests, review_sampling, routing
from . import authenticity as authenticity_svc
from .clock import utcnow
from .consent import require_consent_standing, require_current_consent, require_live_consent
from .projects import load_project, require_expert_eligible
from .uow import CommitThenRaise, reads, writes
from .views import assignment_view

_rng = random.SystemRandom()
MAX_CLAIM_TRIES = 1000  # each try excludes one item that filled up while we looked


def rate_cents(project: Project, expert: Expert) -> int:
    """Pay is the project's rate card where it has one, else the expert's own rate."""
    return project.hourly_rate_cents if project.hourly_rate_cents is not None else expert.hourly_rate_cents


@writes
def lease_next(session: Session, actor: Actor, project_id: int, *, now: datetime | None = None) -> dict | None:
    """Lease the next item for the calling expert, or None when nothing is left for them.

    An expert who already holds a live lease in the project gets that one back, so a reload
    or a double click never hoards a second item. A claim that PostgreSQL aborts to break a
    deadlock is retried from scratch by the unit of work (it changed nothing).
    """
    return _lease_next(session, actor, project_id, now=now)


def _lease_next(session: Session, actor: Actor, project_id: int, *, now: datetime | None) -> dict | None:
    expert_id = require_expert(actor)
    now = now or utcnow()
    project = load_project(session, project_id)
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    require_expert_eligible(session, project, expert)
    consent = require_current_consent(session, project, expert_id)
    held = repo.held_lease(session, project.id, expert_id, now)
    if held is not None:
        if held.consent_id is None and consent is not None:  # leased before the terms existed
            held.consent_id = consent.id
        item = session.get_one(Item, held.item_id)
        view = assignment_view(held, item, project, now, staff=False)
        return view
    if not takes_work(project.status):
        raise Conflict(f"project {project.id} is {project.status}: it takes no new work"
                       + (" until it goes live" if project.status in ("draft", "paused") else ""))
    if project.budget_cents is not None:
        _check_budget(session, project, expert, now)
    if project.retest_rate > 0 and _rng.random() < project.retest_rate:
        retest = retests.claim_retest(session, project, expert_id, consent.id if consent is not None else None,
                                      now, _rng)
        if retest is not None:  # served like any lease: the view carries no mark
            return assignment_view(retest, session.get_one(Item, retest.item_id), project, now, staff=False)
    item_id = None
    for query in routing.claim_plan(session, project, expert, _rng):
        item_id = _claim_item(session, project, expert_id, now, query)
        if item_id is not None:
            break
    if item_id is None:
        return None
    # An old lapsed lease of this expert on the item is closed, so only one can ever be submitted.
    repo.close_old_leases(session, item_id, expert_id)
    item = session.get_one(Item, item_id)
    assignment = Assignment(
        project_id=project.id, item_id=item_id, expert_id=expert_id,
        state=AssignmentState.leased.value, leased_at=now,
        lease_expires_at=lease_expiry(now, project.lease_minutes), last_seen_at=now,
        active_seconds=0.0, guidelines_version=project.guidelines_version,
        consent_id=consent.id if consent is not None else None,
        presentation=make_presentation(TaskType(project.task_type), item.payload, _rng),
        ai_assistance=ai_help.shown(session, project, item_id, now))
    experiments.assign_arm(session, project, expert, item, assignment, now)
    session.add(assignment)
    session.flush()
    view = assignment_view(assignment, item, project, now, staff=False)
    return view


def _claim_item(session: Session, project: Project, expert_id: int, now: datetime,
                query: routing.ClaimQuery) -> int | None:
    if is_sqlite(session):  # the IMMEDIATE transaction already excludes every other writer
        return repo.next_candidate_item(session, project.id, expert_id, now, skip_locked=False, **query.kwargs)
    tried: list[int] = []
    for _ in range(MAX_CLAIM_TRIES):
        # Each candidate is tried inside a savepoint: rolling it back releases the row lock of a
        # candidate that turned out full, so a claimer never holds one item while waiting for
        # another (two such claimers would deadlock).
        attempt = session.begin_nested()
        item_id = repo.next_candidate_item(session, project.id, expert_id, now,
                                           skip_locked=True, exclude=tried, **query.kwargs)
        if item_id is None:
            # Every open item may be locked by claimers still deciding: wait for the first
            # rather than tell this trainer there is nothing left while there is.
            item_id = repo.next_candidate_item(session, project.id, expert_id, now, skip_locked=False,
                                               wait_locked=True, exclude=tried, **query.kwargs)
            if item_id is None:
                attempt.rollback()
                return None
        # Under the row lock, a fresh statement sees every commit made before we got the lock.
        slots, seen = repo.claim_recheck(session, item_id, expert_id, now)
        if (query.gold_pool or slots > 0) and not seen:
            attempt.commit()
            return item_id
        attempt.rollback()
        tried.append(item_id)
    return None


def _check_budget(session: Session, project: Project, expert: Expert, now: datetime) -> None:
    """Refuse (409) a lease the budget cannot cover: what is spent, plus the worst case of every
    live lease, plus this lease's worst case, must stay within the budget.

    On PostgreSQL the check normally runs beside other claims, not after them: a claim takes a
    *shared* lock on the project row when the budget's headroom covers this lease and the worst
    case of as many more claims as the server has connections (every claim in flight is an open
    transaction, so no more can be deciding at once without seeing each other's leases). Only
    near the end of the budget does a claim take the row's exclusive lock, which waits for every
    shared holder to commit and then counts exactly, one claim at a time. Taking the exclusive
    lock for every claim made each claim wait for all others in flight on the project
    (throughput fell as trainers were added). SQLite's write transaction already runs one claim
    at a time, so it counts exactly without a lock."""
    assert project.budget_cents is not None  # called only for a project with a budget
    mine = _worst_case(project, rate_cents(project, expert))
    if not is_sqlite(session):
        bound = repo.concurrent_transactions_bound(session)
        standing = repo.budget_standing(session, project.id, now)  # unlocked: which lock to take
        if _headroom(project, standing, mine) >= bound * _widest(project, standing, mine):
            repo.share_project(session, project.id)
            standing = repo.budget_standing(session, project.id, now)  # what the shared lock guards
            if _headroom(project, standing, mine) >= bound * _widest(project, standing, mine):
                return
        repo.lock_project(session, project.id)  # budget checks near the end run one at a time
    spent, rates, _highest = repo.budget_standing(session, project.id, now)
    worst = _reserved(project, rates)
    if spent + worst + mine > project.budget_cents:
        raise BudgetExhausted(
            f"project {project.id} budget is exhausted: spent ${from_cents(spent)} + leased worst case "
            f"${from_cents(worst)} + this lease ${from_cents(mine)} > budget ${from_cents(project.budget_cents)}")


def _worst_case(project: Project, rate: int) -> int:
    """What one live lease at ``rate`` (cents an hour) could still cost, in cents."""
    return to_cents(worst_case_lease_cost(project.max_minutes_per_task, from_cents(rate)))


def _reserved(project: Project, rates: dict[int, int]) -> int:
    """The worst case of the live leases, ``rates`` counting them by their expert's rate."""
    if project.hourly_rate_cents is not None:  # the rate card pays every lease alike
        return sum(rates.values()) * _worst_case(project, project.hourly_rate_cents)
    return sum(n * _worst_case(project, rate) for rate, n in rates.items())


def _headroom(project: Project, standing: tuple[int, dict[int, int], int], mine: int) -> int:
    """The budget left once the spend, the live leases and this lease are counted."""
    assert project.budget_cents is not None
    spent, rates, _highest = standing
    return project.budget_cents - spent - _reserved(project, rates) - mine


def _widest(project: Project, standing: tuple[int, dict[int, int], int], mine: int) -> int:
    """The most any one claim in flight could reserve: the rate card's worst case, or the
    highest expert rate's."""
    if project.hourly_rate_cents is not None:
        return mine
    return max(mine, _worst_case(project, standing[2]))


def _load_own(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    a = session.get(Assignment, assignment_id)
    if a is None or not can_see_assignment(actor, a.expert_id):
        raise NotFound(f"assignment {assignment_id} not found")
    if not can_work_on(actor, a.expert_id):
        raise PermissionDenied("only the expert holding this assignment may work on it")
    return a


def _revive_or_fail(session: Session, a: Assignment, project: Project, now: datetime) -> None:
    """A lapsed lease may go on only while its slot is still free (and it was not closed)."""
    if a.state != AssignmentState.leased.value:
        raise Conflict(f"assignment {a.id} is {a.state}")
    if now < a.lease_expires_at:
        return
    repo.lock_item(session, a.item_id)
    item = session.get_one(Item, a.item_id)
    if a.retest_of is None and not routing.in_gold_pool(project, item) and repo.open_slots(session, a.item_id, now,
                                                                    except_assignment=a.id) <= 0:
        # Recorded and refused: the lease is closed for good, and the caller learns why.
        a.state = AssignmentState.expired.value
        raise CommitThenRaise(LeaseExpired(
            f"the lease on assignment {a.id} expired at {a.lease_expires_at.isoformat()} "
            "and its slot was taken by another expert"))


@writes
def heartbeat(session: Session, actor: Actor, assignment_id: int, settings: Settings, *,
              now: datetime | None = None) -> dict:
    """Count active time since the last sign of life and extend the lease."""
    now = now or utcnow()
    a = _load_own(session, actor, assignment_id)
    project = session.get_one(Project, a.project_id)
    require_consent_standing(session, a)
    lapsed = now >= a.lease_expires_at
    if lapsed and project.budget_cents is not None:
        repo.lock_project(session, project.id)  # before the item, as a claim does
    _revive_or_fail(session, a, project, now)
    if lapsed and project.budget_cents is not None:  # the revived lease must be reserved again
        expert = session.get_one(Expert, a.expert_id)
        _check_late_budget(session, project, a, now, to_cents(reserved_for_lease(
            project.max_minutes_per_task, from_cents(rate_cents(project, expert)))))
    a.active_seconds = add_active_time(a.active_seconds, a.last_seen_at, now, settings.heartbeat_idle_seconds)
    a.last_seen_at = now
    a.lease_expires_at = lease_expiry(now, project.lease_minutes)
    out = {"assignment_id": a.id, "lease_expires_at": a.lease_expires_at.isoformat(),
           "active_seconds": round(a.active_seconds, 1)}
    return out


@writes
def release(session: Session, actor: Actor, assignment_id: int, *, now: datetime | None = None) -> dict:
    """Give the item back (skip). It is not offered to this expert again."""
    now = now or utcnow()
    a = _load_own(session, actor, assignment_id)
    if a.state != AssignmentState.leased.value:
        raise Conflict(f"assignment {a.id} is {a.state}; only a leased assignment can be released")
    a.state = AssignmentState.released.value
    return {"assignment_id": a.id, "state": a.state}


@writes
def submit(session: Session, actor: Actor, assignment_id: int, response: object, settings: Settings, *,
           idempotency_key: str | None = None, now: datetime | None = None, authenticity: object = None,
           ai_discarded: bool = False) -> dict:
    """Validate and store a response, and pay for the active time (capped) in one transaction.

    With an ``Idempotency-Key``, a retried submit returns the first result instead of failing.
    Concurrent submits of one assignment are serialised on its row: the first stores the
    response, the others return that result (same key) or a 409 (any other key). A submit
    that PostgreSQL aborts to break a deadlock is retried from scratch by the unit of work.

    ``authenticity`` carries the client's writing-process aggregates per free-text field
    (:func:`expertloop.domain.authenticity.parse_signals`); with the answer's similarity to the
    item's model outputs they are stored as the judgment's authenticity check.
    ``ai_discarded``: the trainer threw away the AI suggestion they were shown.
    """
    return _submit(session, actor, assignment_id, response, settings, idempotency_key=idempotency_key, now=now,
                   authenticity=authenticity, ai_discarded=ai_discarded)


def _submit(session: Session, actor: Actor, assignment_id: int, response: object, settings: Settings, *,
            idempotency_key: str | None, now: datetime | None, authenticity: object = None,
            ai_discarded: bool = False) -> dict:
    signals = parse_signals(authenticity)
    now = now or utcnow()
    a, item, project, expert = _load_for_submit(session, actor, assignment_id, now)
    if a.state in (AssignmentState.submitted.value, AssignmentState.accepted.value,
                   AssignmentState.rejected.value, AssignmentState.retested.value):
        if idempotency_key and a.idempotency_key == idempotency_key:
            result = _submit_result(session, a, item, project, now)
            return result
        raise Conflict(f"assignment {a.id} was already submitted")
    require_consent_standing(session, a)
    if a.consent_id is None and project.terms_version:  # leased before the project had terms
        a.consent_id = require_live_consent(session, project, a.expert_id).id
    lapsed = now >= a.lease_expires_at
    _revive_or_fail(session, a, project, now)
    spec = task_type(project.task_type)
    if spec.keeps_draft and isinstance(response, dict):  # the conversation the server kept, not one typed in
        response = spec.response_with_draft(response, a.draft)
    clean = parse_response(response, TaskType(project.task_type), project.options, item.payload)
    active = add_active_time(a.active_seconds, a.last_seen_at, now, settings.heartbeat_idle_seconds)
    minutes = billable_minutes(active, project.max_minutes_per_task)
    arm_rate = experiments.arm_rate_cents(session, a) if a.experiment_id is not None else None
    rate = rate_cents(project, expert) if arm_rate is None else arm_rate
    amount = pay_within(minutes, from_cents(rate), reserved_for_lease(project.max_minutes_per_task,
                                                                      from_cents(rate)))
    if lapsed and project.budget_cents is not None:
        # A lapsed lease no longer held its reservation: others may have spent it since.
        _check_late_budget(session, project, a, now, to_cents(amount))
    retest = a.retest_of is not None
    a.state = AssignmentState.retested.value if retest else AssignmentState.submitted.value
    a.response = clean
    a.submitted_at = now
    a.last_seen_at = now
    a.active_seconds = active
    a.idempotency_key = idempotency_key
    if spec.keeps_draft:
        a.draft = None  # the response holds it now
    if a.ai_assistance:
        a.ai_assistance = ai_help.outcome(spec, a.ai_assistance, clean, discarded=ai_discarded)
    # The item was read under its lock (or the SQLite write lock), so counting here is exact; the
    # write goes out with the routing decision's, in one UPDATE. A re-test is paid, never counted.
    if not retest:
        item.done_count += 1
    session.flush()  # the assignment is written before its earning's period is read (payroll.close_period)
    entry = LedgerEntry(expert_id=a.expert_id, project_id=a.project_id, assignment_id=a.id,
                        kind="earning", minutes=str(minutes), rate_cents=rate,
                        amount_cents=to_cents(amount), created_at=payroll.booking_time(session, now))
    session.add(entry)
    authenticity_svc.record(session, a, item, signals, settings, now)
    if not retest:
        routing.after_submit(session, project, item, a, now)
        review_sampling.sample_for_review(session, project, a, now, _rng)
    elif project.quality_floor is not None:
        session.flush()  # the re-test's answer is part of the agreement it is judged on
        reason = retests.below_retest_floor(session, project, a.expert_id)
        if reason is not None:
            routing.pause_trainer(session, project, a.expert_id, reason, now)
    result = _submit_result(session, a, item, project, now, entry=entry)
    return result


def _load_for_submit(session: Session, actor: Actor, assignment_id: int,
                     now: datetime) -> tuple[Assignment, Item, Project, Expert]:
    """The assignment (the caller's own), its item, project and expert, as they stand under the
    locks a submit needs, in as few statements as the database allows.

    Every row is re-read (``populate_existing``): sessions keep objects across units, and a
    concurrent submit that got there first has committed its result, which a retry must see.
    SQLite: one joined read; the unit's ``BEGIN IMMEDIATE`` already holds the write lock.
    PostgreSQL: one unlocked read to authorize and learn which rows to lock, then the locks in
    the order a claim takes them — the project (a late submit checks the budget), the item, then
    the assignment — each lock's statement re-reading its row."""
    sqlite = is_sqlite(session)
    row = session.execute(_submit_rows(sqlite), {"assignment_id": assignment_id}).one_or_none()
    if row is None or not can_see_assignment(actor, row[0].expert_id):
        raise NotFound(f"assignment {assignment_id} not found")
    if not can_work_on(actor, row[0].expert_id):
        raise PermissionDenied("only the expert holding this assignment may work on it")
    if sqlite:
        a, item, project, expert = row
        return a, item, project, expert
    a, project, expert = row
    if now >= a.lease_expires_at:  # the budget is checked against the project as it stands locked
        project = session.execute(_locked(Project), {"row_id": a.project_id}).scalar_one()
    item = session.execute(_locked(Item), {"row_id": a.item_id}).scalar_one()
    return session.execute(_locked(Assignment), {"row_id": a.id}).scalar_one(), item, project, expert


@functools.cache
def _locked(entity: type[Project] | type[Item] | type[Assignment]) -> Select:
    """One row re-read under a row lock (PostgreSQL), built once per table."""
    return (select(entity).where(entity.id == bindparam("row_id")).with_for_update()
            .execution_options(populate_existing=True))


@functools.cache
def _submit_rows(with_item: bool) -> Select:
    """The submit's first read, built once (building a statement costs more than running it here)."""
    entities = (Assignment, Item, Project, Expert) if with_item else (Assignment, Project, Expert)
    stmt = select(*entities).join(Project, Project.id == Assignment.project_id).join(
        Expert, Expert.id == Assignment.expert_id).where(Assignment.id == bindparam("assignment_id"))
    if with_item:
        stmt = stmt.join(Item, Item.id == Assignment.item_id)
    return stmt.execution_options(populate_existing=True)


def _check_late_budget(session: Session, project: Project, a: Assignment, now: datetime, cost_cents: int) -> None:
    """Refuse (409) to revive a lapsed lease when the budget can no longer cover ``cost_cents``
    on top of what is spent and what the live leases have reserved."""
    assert project.budget_cents is not None  # called only for a project with a budget
    repo.lock_project(session, project.id)
    spent, rates, _highest = repo.budget_standing(session, project.id, now)  # a lapsed lease is not live
    reserved = _reserved(project, rates)
    if spent + reserved + cost_cents > project.budget_cents:
        raise BudgetExhausted(
            f"the lease on assignment {a.id} expired at {a.lease_expires_at.isoformat()} and the budget of project "
            f"{project.id} no longer covers it: spent ${from_cents(spent)} + leased worst case "
            f"${from_cents(reserved)} + this task ${from_cents(cost_cents)} > budget "
            f"${from_cents(project.budget_cents)}")


def _submit_result(session: Session, a: Assignment, item: Item, project: Project, now: datetime, *,
                   entry: LedgerEntry | None = None) -> dict:
    """The submit's answer: the assignment with what it earned (the ledger entry of this submit, or
    for a retried submit the one stored by the first)."""
    if entry is None:
        entry = session.execute(select(LedgerEntry).where(LedgerEntry.assignment_id == a.id)).scalar_one_or_none()
    view = assignment_view(a, item, project, now, staff=False,
                           earned_cents=entry.amount_cents if entry else 0)
    view["minutes"] = entry.minutes if entry else "0"
    return view


@reads
def load_visible(session: Session, actor: Actor, assignment_id: int) -> tuple[Assignment, Item, Project]:
    """An assignment the actor may see (their own; staff: any), with its item and project.
    Anything else is "not found", so ids reveal nothing."""
    a = session.get(Assignment, assignment_id)
    if a is None or not can_see_assignment(actor, a.expert_id):
        raise NotFound(f"assignment {assignment_id} not found")
    return a, session.get_one(Item, a.item_id), session.get_one(Project, a.project_id)


@reads
def get_assignment(session: Session, actor: Actor, assignment_id: int) -> dict:
    a, item, project = load_visible(session, actor, assignment_id)
    return assignment_view(a, item, project, utcnow(), staff=actor.is_staff)


@reads
def list_assignments(session: Session, actor: Actor, *, project_id: int | None = None,
                     expert_id: int | None = None, limit: int = 100) -> list[dict]:
    """Staff may list anyone's; an expert lists only their own, newest first."""
    if not actor.is_staff:
        expert_id = require_expert(actor)
    q = select(Assignment, Item, Project).join(Item, Item.id == Assignment.item_id).join(
        Project, Project.id == Assignment.project_id)
    if project_id is not None:
        q = q.where(Assignment.project_id == project_id)
    if expert_id is not None:
        q = q.where(Assignment.expert_id == expert_id)
    q = q.order_by(Assignment.id.desc()).limit(min(max(limit, 1), 1000))
    now = utcnow()
    return [assignment_view(a, i, p, now, staff=actor.is_staff) for a, i, p in session.execute(q)]


