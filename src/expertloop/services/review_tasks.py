"""Assigned reviews: sampled work goes to level-1 reviewers, a share of their reviews to level 2.

- **Sampling** (:func:`expertloop.services.review_sampling.sample_for_review`, called by submit
  in its transaction): a project with ``review_sampling`` sends a share of each trainer's
  submitted work to a level-1 review — more for new trainers and for flagged ones (see :mod:`expertloop.domain.people`).
- **Assignment, not self-selection** (:func:`next_review`): a reviewer asks for the next review
  and gets one, leased like a task (the project's ``lease_minutes``); while the lease is live
  nobody else gets it, a lapsed lease goes to the next reviewer who asks. A reviewer never
  reviews their own work, nor at level 2 a review of their own.
- **Blind**: the reviewer sees the trainer's response as submitted — not the earlier reviewer's
  verdict, feedback or edit — until they submit their own (:func:`submit_review` answers with it).
- **Level 2**: ``accept`` or ``reject``; where it differs from level 1 it stands, and the
  judgment is accepted or rejected again (its slot reopened or retaken), refitting consensus.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..domain.assignments import AssignmentState
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.people import ReviewSampling
from ..domain.policies import Actor, Role, require_expert
from ..domain.responses import MAX_TEXT
from ..storage import repositories as repo
from ..storage.db import is_sqlite
from ..storage.orm import Assignment, Expert, Item, Project, ReviewTask
from . import jobs
from .clock import utcnow
from .reviews import _detail, require_reviewer
from .reviews import review as apply_review
from .uow import reads, writes
from .views import iso

_rng = random.SystemRandom()
LEVEL2_VERDICTS = ("accept", "reject")
NAMES_ROLES = (Role.admin, Role.manager, Role.reviewer)


def can_see_trainer_names(actor: Actor) -> bool:
    """Staff and reviewers see the trainer's name beside their work; trainers never see others'."""
    return actor.role in NAMES_ROLES


def _open_filter(now: datetime):
    return or_(ReviewTask.state == "queued",
               and_(ReviewTask.state == "leased", ReviewTask.lease_expires_at <= now))


def _eligible(q, reviewer_id: int):
    """Review tasks this reviewer may take: not their own work; at level 2 not their own review."""
    first = aliased(ReviewTask)
    own_review = select(first.id).where(first.assignment_id == ReviewTask.assignment_id, first.level == 1,
                                        first.reviewer_id == reviewer_id).exists()
    return q.where(Assignment.expert_id != reviewer_id, ~own_review)


def _candidates(now: datetime, reviewer_id: int, project_id: int | None):
    q = (select(ReviewTask.id).join(Assignment, Assignment.id == ReviewTask.assignment_id)
         .where(_open_filter(now), repo.consent_stands(),
                or_(ReviewTask.level == 2, Assignment.state == AssignmentState.submitted.value)))
    if project_id is not None:
        q = q.where(ReviewTask.project_id == project_id)
    return _eligible(q, reviewer_id)


@writes
def next_review(session: Session, actor: Actor, project_id: int | None = None, *,
                now: datetime | None = None) -> dict | None:
    """Lease the next review to the calling reviewer (the one they hold, if any); None when
    nothing is left for them."""
    require_reviewer(actor)
    reviewer_id = require_expert(actor)
    now = now or utcnow()
    held = session.execute(select(ReviewTask).where(
        ReviewTask.reviewer_id == reviewer_id, ReviewTask.state == "leased", ReviewTask.lease_expires_at > now,
        *([ReviewTask.project_id == project_id] if project_id is not None else []))
        .order_by(ReviewTask.id).limit(1)).scalar_one_or_none()
    if held is not None:
        return _task_view(session, actor, held, now)
    q = _candidates(now, reviewer_id, project_id).order_by(ReviewTask.level.desc(), ReviewTask.id).limit(1)
    if not is_sqlite(session):
        q = q.with_for_update(skip_locked=True, of=ReviewTask)
    task_id = session.execute(q).scalar_one_or_none()
    if task_id is None:
        return None
    task = session.get_one(ReviewTask, task_id)
    project = session.get_one(Project, task.project_id)
    task.state, task.reviewer_id, task.leased_at = "leased", reviewer_id, now
    task.lease_expires_at = now + timedelta(minutes=project.lease_minutes)
    session.flush()
    return _task_view(session, actor, task, now)


@reads
def get_task(session: Session, actor: Actor, task_id: int) -> dict:
    """A review leased to the calling reviewer, blind (staff: any review, blind too)."""
    require_reviewer(actor)
    task = session.get(ReviewTask, task_id)
    if task is None or (not actor.is_staff and task.reviewer_id != actor.expert_id):
        raise NotFound(f"review {task_id} not found")
    return _task_view(session, actor, task, utcnow(), reveal=task.state == "done")


def _task_view(session: Session, actor: Actor, task: ReviewTask, now: datetime, *, reveal: bool = False) -> dict:
    """The work under review as the trainer submitted it. Blind unless ``reveal``: no earlier
    verdict, feedback, edit or reviewer."""
    a = session.get_one(Assignment, task.assignment_id)
    item = session.get_one(Item, a.item_id)
    project = session.get_one(Project, a.project_id)
    view = _detail(a, item, project, now, staff=actor.is_staff)
    if a.original_response is not None:  # an edit at level 1: the trainer's own answer is reviewed
        view["response"] = a.original_response
    for key in ("review_feedback", "reviewed_at", "reviewed_by", "original_response", "edited"):
        view.pop(key, None)
    view["state"] = AssignmentState.submitted.value
    view.update(review_task_id=task.id, level=task.level, reason=task.reason,
                lease_expires_at=iso(task.lease_expires_at))
    if can_see_trainer_names(actor):
        view["expert_name"] = session.get_one(Expert, a.expert_id).name
    if reveal:
        view["earlier_reviews"] = _earlier(session, task)
    return view


def _earlier(session: Session, task: ReviewTask) -> list[dict]:
    rows = session.execute(select(ReviewTask).where(ReviewTask.assignment_id == task.assignment_id,
                                                    ReviewTask.level < task.level, ReviewTask.state == "done")
                           .order_by(ReviewTask.level)).scalars()
    return [{"level": r.level, "verdict": r.verdict, "feedback": r.feedback, "reviewer_id": r.reviewer_id}
            for r in rows]


@writes
def submit_review(session: Session, actor: Actor, task_id: int, verdict: str, feedback: str | None = None,
                  response: object = None, *, now: datetime | None = None,
                  rng: random.Random | None = None) -> dict:
    """The leased reviewer's verdict; one transaction. Answers with the earlier verdicts."""
    require_reviewer(actor)
    reviewer_id = require_expert(actor)
    now = now or utcnow()
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"review {task_id} not found")
    if task.reviewer_id != reviewer_id:
        raise PermissionDenied(f"review {task_id} is not assigned to you; ask for the next review instead")
    if task.state == "done":
        raise Conflict(f"review {task_id} was already submitted")
    if task.state != "leased":
        raise Conflict(f"review {task_id} is {task.state}")
    project = session.get_one(Project, task.project_id)
    a = session.get_one(Assignment, task.assignment_id)
    fb = (feedback or "").strip() or None
    if task.level == 1:
        apply_review(session, actor, a.id, verdict, fb, response, now=now, assigned=True)
    else:
        _level2(session, a, verdict, fb, now)
    task.state, task.verdict, task.feedback, task.done_at = "done", verdict, fb, now
    if task.level == 1 and project.review_sampling is not None:
        share = ReviewSampling(**project.review_sampling).level2_rate
        if (rng or _rng).random() < share:
            session.add(ReviewTask(project_id=project.id, assignment_id=a.id, level=2, reason="sampled",
                                   state="queued", created_at=now))
    session.flush()
    view = _task_view(session, actor, task, now, reveal=True)
    view.update(verdict=verdict, feedback=fb, outcome=a.state)
    return view


def _level2(session: Session, a: Assignment, verdict: str, feedback: str | None, now: datetime) -> None:
    if verdict not in LEVEL2_VERDICTS:
        raise ValidationFailed(f"must be one of {', '.join(LEVEL2_VERDICTS)} at level 2; got {verdict[:40]!r}",
                               loc="verdict")
    if feedback is not None and len(feedback) > MAX_TEXT:
        raise ValidationFailed(f"is longer than {MAX_TEXT} characters", loc="feedback")
    if verdict == "reject" and feedback is None:
        raise ValidationFailed("is required when rejecting: tell the trainer what to do differently",
                               loc="feedback")
    wanted = AssignmentState.accepted.value if verdict == "accept" else AssignmentState.rejected.value
    if a.state == wanted:
        return  # level 2 agrees: level 1's verdict stands
    repo.lock_item(session, a.item_id)
    repo.bump_done(session, a.item_id, -1 if wanted == AssignmentState.rejected.value else 1)
    a.state = wanted
    if feedback is not None:
        a.review_feedback = feedback
    a.reviewed_at = now
    jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=a.project_id, debounce=True)


@reads
def my_queue(session: Session, actor: Actor, *, now: datetime | None = None) -> dict:
    """What the calling reviewer can be assigned: per project, reviews waiting for them, and the
    review they hold. The counts are of reviews they may take (their own work left out)."""
    require_reviewer(actor)
    now = now or utcnow()
    if actor.expert_id is None:
        return {"held": None, "projects": [], "waiting": 0}
    sub = _candidates(now, actor.expert_id, None).subquery()
    q = (select(Project.id, Project.name, func.count(sub.c.id)).join(ReviewTask, ReviewTask.project_id == Project.id)
         .join(sub, sub.c.id == ReviewTask.id).group_by(Project.id, Project.name).order_by(Project.id))
    projects = [{"project_id": pid, "project_name": name, "waiting": n} for pid, name, n in session.execute(q)]
    held = session.execute(select(ReviewTask.id, ReviewTask.project_id).where(
        ReviewTask.reviewer_id == actor.expert_id, ReviewTask.state == "leased",
        ReviewTask.lease_expires_at > now).limit(1)).first()
    return {"held": None if held is None else {"review_task_id": held[0], "project_id": held[1]},
            "projects": projects, "waiting": sum(p["waiting"] for p in projects)}


@reads
def review_outcomes(session: Session, project_id: int) -> dict[int, dict]:
    """Per trainer: reviewed judgments by outcome (accepted / edited / rejected), for scorecards."""
    q = (select(Assignment.expert_id, Assignment.state, Assignment.original_response.is_not(None), func.count())
         .where(Assignment.project_id == project_id, Assignment.reviewed_at.is_not(None), repo.consent_stands())
         .group_by(Assignment.expert_id, Assignment.state, Assignment.original_response.is_not(None)))
    out: dict[int, dict] = {}
    for expert_id, state, edited, n in session.execute(q):
        card = out.setdefault(expert_id, {"reviewed": 0, "accepted": 0, "edited": 0, "rejected": 0})
        card["reviewed"] += n
        key = "rejected" if state == AssignmentState.rejected.value else ("edited" if edited else "accepted")
        card[key] += n
    return out
