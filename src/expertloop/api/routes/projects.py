from typing import Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import imports
from ...services import projects as svc
from ..deps import get_actor, get_session

router = APIRouter(tags=["projects"])

EXAMPLE = {"name": "History answers, pairwise", "task_type": "preference",
           "guidelines": "Prefer the answer a historian would sign.",
           "options": {"criteria": ["accuracy", "clarity"]},
           "requirements": {"domains": {"history": 3}, "languages": ["en"], "min_degree": "master"},
           "overlap": 3, "lease_minutes": 30, "max_minutes_per_task": 20, "budget_usd": "5000.00"}
ITEMS_EXAMPLE = [{"external_id": "q1", "prompt": "Who won the battle of Hastings?",
                  "responses": [{"text": "William of Normandy.", "model": "a"},
                                {"text": "Harold Godwinson.", "model": "b"}], "gold": 0}]


@router.post("/projects", status_code=201, summary="Create a project (admin, manager)")
def create_project(body: dict[str, Any] = Body(..., examples=[EXAMPLE]), actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session)) -> dict:
    return svc.create_project(session, actor, body)


@router.get("/projects", summary="Projects: all for staff, the ones they qualify for for experts")
def list_projects(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_projects(session, actor)


@router.get("/projects/{project_id}", summary="A project with progress counts")
def get_project(project_id: int, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.get_project(session, actor, project_id)


@router.post("/projects/{project_id}/items", status_code=201,
             summary="Import items (a JSON list; all-or-nothing, idempotent by external_id)")
def import_items(project_id: int, body: Any = Body(..., examples=[ITEMS_EXAMPLE]),
                 actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if not isinstance(body, list):
        raise ValidationFailed("the body must be a JSON list of items", loc="body")
    return imports.import_items(session, actor, project_id, enumerate(body), unit="item")
