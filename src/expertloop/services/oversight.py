"""What a manager watches and steers: expert status, project pauses, notifications, item history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.experts import ExpertStatus
from ..domain.policies import Actor, require_staff
from ..storage import repositories as repo
from ..storage.orm import ApiToken, Assignment, Expert, Item, ItemEvent, Notification, ProjectPause
from . import audit
from .clock import utcnow
from .projects import load_project
from .uow import reads, writes
from .views import expert_view, iso


@writes
def set_status(session: Session, actor: Actor, expert_id: int, status: str) -> dict:
    """Move an expert along onboarding (applicant → qualified → active) or pause/offboard them."""
    require_staff(actor, "change an expert's status")
    try:
        new = ExpertStatus(status)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(s.value for s in ExpertStatus)}", loc="status") from None
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    if new == ExpertStatus.active and expert.status == ExpertStatus.applicant.value:
        raise Conflict("an applicant must pass a qualification exam (status qualified) before becoming active")
    old = expert.status
    expert.status = new.value
    if new == ExpertStatus.offboarded:  # their tokens go too: no API access, no browser session
        now = utcnow()
        session.execute(update(ApiToken).where(ApiToken.expert_id == expert.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))
        expert.sessions_revoked_at = now
    audit.record(session, actor, "expert.status_changed", target=f"expert {expert.id}",
                 detail={"from": old, "to": new.value})
    view = expert_view(expert)
    return view


def pause_view(p: ProjectPause, name: str) -> dict:
    return {"id": p.id, "project_id": p.project_id, "expert_id": p.expert_id, "expert_name": name,
            "reason": p.reason, "created_at": iso(p.created_at), "lifted_at": iso(p.lifted_at)}


@reads
def list_pauses(session: Session, actor: Actor, project_id: int) -> list[dict]:
    require_staff(actor, "see paused trainers")
    load_project(session, project_id)
    rows = session.execute(select(ProjectPause, Expert.name).join(Expert, Expert.id == ProjectPause.expert_id)
                           .where(ProjectPause.project_id == project_id).order_by(ProjectPause.id)).all()
    return [pause_view(p, name) for p, name in rows]


@writes
def lift_pause(session: Session, actor: Actor, project_id: int, expert_id: int, *,
               now: datetime | None = None) -> dict:
    require_staff(actor, "lift a pause")
    pause = session.execute(select(ProjectPause).where(
        ProjectPause.project_id == project_id, ProjectPause.expert_id == expert_id,
        ProjectPause.lifted_at.is_(None))).scalar_one_or_none()
    if pause is None:
        raise NotFound(f"expert {expert_id} is not paused from project {project_id}")
    pause.lifted_at = now or utcnow()
    audit.record(session, actor, "pause.lifted", project_id=project_id, target=f"expert {expert_id}",
                 detail={"reason": pause.reason})
    view = pause_view(pause, session.get_one(Expert, expert_id).name)
    return view


@reads
def notifications(session: Session, actor: Actor, project_id: int | None = None, limit: int = 100) -> list[dict]:
    require_staff(actor, "read notifications")
    q = select(Notification).order_by(Notification.id.desc()).limit(min(max(limit, 1), 1000))
    if project_id is not None:
        q = q.where(Notification.project_id == project_id)
    return [{"id": n.id, "kind": n.kind, "project_id": n.project_id, "expert_id": n.expert_id,
             "item_id": n.item_id, "message": n.message, "created_at": iso(n.created_at)}
            for n in session.execute(q).scalars()]


@reads
def notification_count(session: Session, actor: Actor) -> int:
    require_staff(actor, "read notifications")
    return session.execute(select(func.count()).select_from(Notification)).scalar_one()


@reads
def item_history(session: Session, actor: Actor, item_id: int) -> dict:
    require_staff(actor, "read an item's history")
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    events = session.execute(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)).scalars()
    return {"item_id": item.id, "project_id": item.project_id, "external_id": item.external_id,
            "judgments": session.execute(select(func.count()).select_from(Assignment).where(
                Assignment.item_id == item.id, repo.counted_judgment())).scalar_one(),
            "target_overlap": item.target_overlap, "confidence": item.confidence,
            "required_tier": item.required_tier,
            "events": [{"kind": e.kind, "detail": e.detail, "at": iso(e.created_at)} for e in events]}
