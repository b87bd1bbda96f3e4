"""The audit log: every staff action, appended inside the unit of work that made it.

Entries are written by the services that change things (projects, terms, experts' status,
pauses, gold, exports, tokens, pay) with :func:`record`, in the same transaction as the change,
so an action and its entry commit or roll back together. Nothing updates or deletes an entry:
no service offers it and the database refuses it (triggers in migration 0009). Staff read the
log with :func:`list_entries`, filtered by project, action and time, newest first, one page at a
time (``before`` is the id of the last entry already seen).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.checks import MAX_ID
from ..domain.errors import PermissionDenied, ValidationFailed
from ..domain.policies import Actor
from ..storage.orm import AuditEntry
from .uow import reads
from .views import iso

# The role recorded for the command line and other in-process callers: they act without a token
# (every request of the API and the console carries one).
OPERATOR = "operator"
MAX_PAGE = 500
MAX_TARGET = 200
MAX_ACTION = 64


def record(session: Session, actor: Actor | None, action: str, *, project_id: int | None = None,
           target: str | None = None, detail: dict | None = None) -> None:
    """Append one entry to the log in the caller's write unit. ``actor=None`` is the operator at
    the command line, as is any actor without a token (the CLI's own admin actor). ``action`` is a
    dotted name such as ``project.created``."""
    if not action or len(action) > MAX_ACTION:
        raise ValueError(f"audit action must be 1..{MAX_ACTION} characters: {action!r}")
    session.add(AuditEntry(
        actor_role=OPERATOR if actor is None or actor.token_id is None else actor.role.value,
        actor_expert_id=None if actor is None else actor.expert_id,
        actor_token_id=None if actor is None else actor.token_id,
        action=action, project_id=project_id,
        target=None if target is None else target[:MAX_TARGET], detail=detail))


def entry_view(row: AuditEntry) -> dict:
    return {"id": row.id, "at": iso(row.at), "actor_role": row.actor_role, "actor_expert_id": row.actor_expert_id,
            "actor_token_id": row.actor_token_id, "action": row.action, "project_id": row.project_id,
            "target": row.target, "detail": row.detail}


@reads
def list_entries(session: Session, actor: Actor | None, *, project_id: int | None = None,
                 action: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 before: int | None = None, limit: int = 100) -> list[dict]:
    """Entries newest first. Staff only (``actor=None`` is the operator). ``action`` matches a
    whole name (``terms.published``) or a prefix ending in a dot (``project.``)."""
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("only admins and managers may read the audit log")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"must be between 1 and {MAX_PAGE}", loc="limit")
    for name, value in (("project", project_id), ("before", before)):
        if value is not None and not 1 <= value <= MAX_ID:
            raise ValidationFailed(f"must be between 1 and {MAX_ID}", loc=name)
    query = select(AuditEntry)
    if project_id is not None:
        query = query.where(AuditEntry.project_id == project_id)
    if action:
        if len(action) > MAX_ACTION:
            raise ValidationFailed(f"must be at most {MAX_ACTION} characters", loc="action")
        query = query.where(AuditEntry.action.startswith(action, autoescape=True) if action.endswith(".")
                            else AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
    return [entry_view(row) for row in rows]
