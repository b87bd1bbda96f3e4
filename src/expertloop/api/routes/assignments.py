from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Response
from sqlalchemy.orm import Session

from ...config import Settings
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import assignments as svc
from ..deps import get_actor, get_session, get_settings

router = APIRouter(tags=["assignments"])


@router.post("/projects/{project_id}/assignments/next",
             summary="Lease the next item for the calling expert (204 when nothing is left for them)",
             responses={204: {"description": "Nothing left for this expert"}})
def lease_next(project_id: int, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)):
    view = svc.lease_next(session, actor, project_id)
    if view is None:
        return Response(status_code=204)
    return view


@router.get("/assignments", summary="Assignments: an expert's own, or any for staff")
def list_assignments(project_id: int | None = None, expert_id: int | None = None, limit: int = 100,
                     actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_assignments(session, actor, project_id=project_id, expert_id=expert_id, limit=limit)


@router.get("/assignments/{assignment_id}", summary="One assignment")
def get_assignment(assignment_id: int, actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session)) -> dict:
    return svc.get_assignment(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/heartbeat", summary="Keep the lease alive and count active time")
def heartbeat(assignment_id: int, actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
              settings: Settings = Depends(get_settings)) -> dict:
    return svc.heartbeat(session, actor, assignment_id, settings)


@router.post("/assignments/{assignment_id}/release", summary="Give the item back (skip)")
def release(assignment_id: int, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.release(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/submit",
             summary="Submit a typed response; Idempotency-Key makes retries safe")
def submit(assignment_id: int, body: dict[str, Any] = Body(..., examples=[{"response": {"choice": 0, "strength": 2}}]),
           idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=200),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)) -> dict:
    if "response" not in body:
        raise ValidationFailed("is required", loc="response")
    return svc.submit(session, actor, assignment_id, body["response"], settings, idempotency_key=idempotency_key)
