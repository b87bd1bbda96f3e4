"""Reviews: a senior expert accepts, rejects or edits a submitted response.

- ``accept``: the response stands (state ``accepted``).
- ``reject``: the response leaves every export (state ``rejected``) and the item's slot reopens
  (its ``done_count`` goes down under the item lock, in the same transaction), so another
  expert's judgment replaces it. Feedback is required so the trainer learns why. The pay for the
  time spent stays: rejected work was still work asked for.
- ``edit``: the reviewer's corrected response replaces the trainer's in exports; the trainer's
  original is kept in ``original_response`` (state ``accepted``).

Reviewers, managers and admins may review; nobody reviews their own work. Reviewers see the
item as a trainer does (shuffled, gold-free); gold appears only in staff views.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.policies import Actor, Role
from ..domain.projects import TaskType
from ..domain.responses import MAX_TEXT, parse_response
from ..domain.tasks import task_type
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item, Project, ReviewTask
from . import jobs
from . import progress as progress_counts
from .assignments import load_visible
from .clock import utcnow
from .consent import consent_withdrawn
from .uow import reads, writes
from .views import assignment_view, iso

VERDICTS = ("accept", "reject", "edit")
REVIEWER_ROLES = (Role.admin, Role.manager, Role.reviewer)
_REVIEWED = (AssignmentState.accepted.value, AssignmentState.rejected.value)


def can_review(actor: Actor) -> bool:
    return actor.role in REVIEWER_ROLES


def require_reviewer(actor: Actor) -> None:
    if not can_review(actor):
        raise PermissionDenied("only reviewers, managers and admins may review work")


@writes
def review(session: Session, actor: Actor, assignment_id: int, verdict: str, feedback: str | None = None,
           response: object = None, *, now: datetime | None = None, assigned: bool = False) -> dict:
    """Record a verdict on a submitted response; one transaction. In a project with review
    sampling, reviewers review only what they are assigned (``assigned``: through a leased review
    task); staff may still review directly, which settles a queued level-1 review of the work."""
    require_reviewer(actor)
    if verdict not in VERDICTS:
        raise ValidationFailed(f"must be one of {', '.join(VERDICTS)}; got {verdict!r}", loc="verdict")
    feedback = (feedback or "").strip() or None
    if feedback is not None and len(feedback) > MAX_TEXT:
        raise ValidationFailed(f"is longer than {MAX_TEXT} characters", loc="feedback")
    if verdict == "reject" and feedback is None:
        raise ValidationFailed("is required when rejecting: tell the trainer what to do differently",
                               loc="feedback")
    now = now or utcnow()
    a = session.get(Assignment, assignment_id)
    if a is None or consent_withdrawn(session, a):
        raise NotFound(f"assignment {assignment_id} not found")
    if actor.expert_id is not None and actor.expert_id == a.expert_id:
        raise PermissionDenied("nobody may review their own work")
    if a.state in _REVIEWED:
        raise Conflict(f"assignment {a.id} was already reviewed ({a.state})")
    if a.state != AssignmentState.submitted.value:
        raise Conflict(f"assignment {a.id} is {a.state}; only submitted work can be reviewed")
    project = session.get_one(Project, a.project_id)
    if project.review_sampling is not None and not assigned:
        if not actor.is_staff:
            raise PermissionDenied("reviews in this project are assigned: ask for your next review")
        for task in session.execute(select(ReviewTask).where(ReviewTask.assignment_id == a.id,
                                                             ReviewTask.level == 1)).scalars():
            task.state, task.verdict, task.reviewer_id, task.done_at = "done", verdict, actor.expert_id, now
    item = session.get_one(Item, a.item_id)
    if verdict == "edit":
        if response is None:
            raise ValidationFailed("is required when editing", loc="response")
        spec = task_type(project.task_type)
        if spec.keeps_draft and isinstance(response, dict):  # the conversation as the trainer left it
            response = spec.response_with_draft(response, a.response)
        clean = parse_response(response, TaskType(project.task_type), project.options, item.payload)
        a.original_response = a.response
        a.response = clean
        a.state = AssignmentState.accepted.value
    elif verdict == "accept":
        a.state = AssignmentState.accepted.value
    else:
        repo.lock_item(session, a.item_id)
        a.state = AssignmentState.rejected.value
        repo.bump_done(session, a.item_id, -1)  # the slot reopens for another expert
    if verdict != "accept":  # an edit or a rejection changes what the consensus is fitted on
        jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=a.project_id, debounce=True)
    a.review_feedback = feedback
    a.reviewed_by = actor.expert_id
    a.reviewed_at = now
    session.flush()
    out = _detail(a, item, project, now, staff=actor.is_staff)
    return out


def _detail(a: Assignment, item: Item, project: Project, now: datetime, *, staff: bool) -> dict:
    view = assignment_view(a, item, project, now, staff=staff)
    # Reviewers name the item they review (re-tests are never reviewed, so this links nothing).
    view["item"].update(id=item.id, external_id=item.external_id)
    view.update(project_name=project.name, original_response=a.original_response,
                project={"id": project.id, "name": project.name, "task_type": project.task_type,
                         "options": project.options, "guidelines": project.guidelines,
                         "guidelines_version": project.guidelines_version},
                edited=a.original_response is not None, reviewed_at=iso(a.reviewed_at),
                reviewed_by=a.reviewed_by)
    return view


@reads
def review_queue(session: Session, actor: Actor, project_id: int | None = None, *,
                 limit: int = 100) -> list[dict]:
    """Submitted work awaiting review, oldest first; a reviewer's own work is left out.
    Counted judgments (``repositories.counted_judgment``) still ``submitted``: withdrawn work
    is not reviewed. Light rows: no item payloads."""
    require_reviewer(actor)
    q = (select(Assignment.id, Assignment.project_id, Project.name, Project.task_type, Assignment.item_id,
                Assignment.expert_id, Assignment.submitted_at, Assignment.active_seconds, Expert.name)
         .join(Project, Project.id == Assignment.project_id).join(Expert, Expert.id == Assignment.expert_id)
         .where(Assignment.state == AssignmentState.submitted.value, repo.counted_judgment())
         .order_by(Assignment.submitted_at, Assignment.id)
         .limit(min(max(limit, 1), 1000)))
    if project_id is not None:
        q = q.where(Assignment.project_id == project_id)
    if actor.expert_id is not None:
        q = q.where(Assignment.expert_id != actor.expert_id)
    if not actor.is_staff:  # reviews in a sampled project are assigned, not picked from a list
        q = q.where(Project.review_sampling.is_(None))
    return [{"assignment_id": r.id, "project_id": r.project_id, "project_name": r.name,
             "task_type": r.task_type, "item_id": r.item_id, "expert_id": r.expert_id,
             "submitted_at": iso(r.submitted_at), "active_seconds": round(r.active_seconds, 1),
             "expert_name": r[8]}  # every role that may review sees whose work it is
            for r in session.execute(q)]


@reads
def queue_counts(session: Session, actor: Actor) -> list[dict]:
    """Projects with submitted work awaiting review (the reviewer's own left out), with counts.

    A large project's count comes from the job runner's progress copy (``services.progress``:
    counting a million pending judgments took most of a second), less the reviewer's own pending
    work counted now; its row then carries ``as_of`` and no ``oldest_submitted_at``."""
    require_reviewer(actor)
    copies = progress_counts.copies(session)
    q = (select(Project.id, Project.name, Project.task_type, func.count(Assignment.id),
                func.min(Assignment.submitted_at))
         .join(Assignment, Assignment.project_id == Project.id)
         .where(Assignment.state == AssignmentState.submitted.value, repo.counted_judgment())
         .group_by(Project.id, Project.name, Project.task_type).order_by(Project.id))
    if copies:
        q = q.where(Project.id.not_in(list(copies)))
    if actor.expert_id is not None:
        q = q.where(Assignment.expert_id != actor.expert_id)
    if not actor.is_staff:
        q = q.where(Project.review_sampling.is_(None))
    out = [{"project_id": pid, "project_name": name, "task_type": task_type, "pending": n,
            "oldest_submitted_at": iso(oldest)} for pid, name, task_type, n, oldest in session.execute(q).all()]
    for pid, (counts, at) in copies.items():
        project = session.get(Project, pid)
        if project is None or (not actor.is_staff and project.review_sampling is not None):
            continue
        pending = int(counts.get("pending_review") or 0)
        mine = [Assignment.expert_id != actor.expert_id] if actor.expert_id is not None else []
        if actor.expert_id is not None:
            pending -= session.execute(select(func.count()).where(
                Assignment.project_id == pid, Assignment.expert_id == actor.expert_id,
                Assignment.state == AssignmentState.submitted.value, repo.counted_judgment())).scalar_one()
        if pending <= 0:  # the copy is a few seconds old: work submitted since still lists the project
            waiting = session.execute(select(Assignment.id).where(
                Assignment.project_id == pid, Assignment.state == AssignmentState.submitted.value,
                repo.counted_judgment(), *mine).limit(1)).first()
            pending = 1 if waiting is not None else 0
        if pending > 0:
            out.append({"project_id": pid, "project_name": project.name, "task_type": project.task_type,
                        "pending": pending, "oldest_submitted_at": None, "as_of": iso(at)})
    return sorted(out, key=lambda row: row["project_id"])


@reads
def get_for_review(session: Session, actor: Actor, assignment_id: int) -> dict:
    """A submitted (or reviewed) response with its item, as the trainer saw it."""
    require_reviewer(actor)
    a = session.get(Assignment, assignment_id)
    if a is None or a.state not in (AssignmentState.submitted.value, *_REVIEWED) or consent_withdrawn(session, a):
        raise NotFound(f"assignment {assignment_id} not found")
    item = session.get_one(Item, a.item_id)
    project = session.get_one(Project, a.project_id)
    view = _detail(a, item, project, utcnow(), staff=actor.is_staff)
    view["own_work"] = actor.expert_id is not None and actor.expert_id == a.expert_id
    return view


@reads
def get_outcome(session: Session, actor: Actor, assignment_id: int) -> dict:
    """An expert's own assignment with its review outcome (staff: anyone's)."""
    a, item, project = load_visible(session, actor, assignment_id)
    return _detail(a, item, project, utcnow(), staff=actor.is_staff)
