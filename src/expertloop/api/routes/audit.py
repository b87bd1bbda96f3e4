from datetime import UTC, datetime

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import audit as svc
from ..deps import get_actor, get_session
from ..schemas import OptionalId, errors
from ..schemas.resources import AuditEntryOut
from ._base import router as make_router

router = make_router("audit")


@router.get("/audit", summary="The audit log of staff actions, newest first (staff); read-only",
            response_model=list[AuditEntryOut], responses=errors(403))
def list_audit(project_id: OptionalId = None,
               action: str | None = Query(None, max_length=64, pattern=r"^[a-z_.]+$",
                                          description="A whole action (terms.published) or a prefix ending "
                                                      "in a dot (project.)"),
               since: datetime | None = Query(None, description="Entries at or after this time (ISO 8601)"),
               until: datetime | None = Query(None, description="Entries before this time (ISO 8601)"),
               before: OptionalId = None,
               limit: int = Query(100, ge=1, le=500, description="At most this many entries (1–500)"),
               actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_entries(session, actor, project_id=project_id, action=action, since=_utc(since, "since"),
                            until=_utc(until, "until"), before=before, limit=limit)


def _utc(value: datetime | None, name: str) -> datetime | None:
    """Times without a zone are read as UTC, the zone every stored time is in."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed("is outside the range of dates", loc=name) from None
