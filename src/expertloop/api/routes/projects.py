from typing import Any

from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...config import Settings
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import imports
from ...services import projects as svc
from ..deps import get_actor, get_session, get_settings
from ..schemas import Id, JsonObject, errors
from ..schemas.common import JsonValue
from ..schemas.resources import ImportResult, ProjectOut
from ._base import router as make_router

router = make_router("projects")

EXAMPLE = {"name": "History answers, pairwise", "task_type": "preference",
           "guidelines": "Prefer the answer a historian would sign.",
           "options": {"criteria": ["accuracy", "clarity"]},
           "requirements": {"domains": {"history": 3}, "languages": ["en"], "min_degree": "master"},
           "overlap": 3, "lease_minutes": 30, "max_minutes_per_task": 20, "budget_usd": "5000.00"}
ITEMS_EXAMPLE = [{"external_id": "q1", "prompt": "Who won the battle of Hastings?",
                  "responses": [{"text": "William of Normandy.", "model": "a"},
                                {"text": "Harold Godwinson.", "model": "b"}], "gold": 0}]


@router.post("/projects", status_code=201, summary="Create a project (admin, manager)",
             response_model=ProjectOut, responses=errors(403))
def create_project(body: JsonObject = Body(..., examples=[EXAMPLE]), actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session)) -> dict:
    return svc.create_project(session, actor, body)


@router.get("/projects", summary="Projects: all for staff, the ones they qualify for for experts",
            response_model=list[ProjectOut])
def list_projects(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_projects(session, actor)


@router.get("/projects/{project_id}", summary="A project with progress counts",
            response_model=ProjectOut, responses=errors(403, 404))
def get_project(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.get_project(session, actor, project_id)


@router.post("/projects/{project_id}/items", status_code=201,
             summary="Import items (a JSON list; all-or-nothing, idempotent by external_id)",
             description="Each item's content is limited to `EXPERTLOOP_MAX_ITEM_BYTES` (1 MB by default) "
                         "of JSON.",
             response_model=ImportResult, responses=errors(403, 404))
def import_items(project_id: Id, body: JsonValue = Body(..., examples=[ITEMS_EXAMPLE]),
                 actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
                 settings: Settings = Depends(get_settings)) -> dict:
    if not isinstance(body, list):
        raise ValidationFailed("the body must be a JSON list of items", loc="body")
    items: list[Any] = body
    return imports.import_items(session, actor, project_id, enumerate(items), unit="item",
                                max_item_bytes=settings.max_item_bytes)
