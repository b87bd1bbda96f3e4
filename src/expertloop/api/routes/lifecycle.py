"""Running a project: status, guidelines versions, settings changes, the item browser, retiring."""

from fastapi import Body, Depends, Query
from sqlalchemy.orm import Session

from ...domain.checks import MAX_ID
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import items as items_svc
from ...services import lifecycle as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.resources import (
    GuidelinesPublished,
    ItemDetail,
    ItemRetired,
    ItemsPage,
    ProjectStatusChanged,
    SettingsChanged,
)
from ._base import router as make_router

router = make_router("projects")


@router.post("/projects/{project_id}/status", response_model=ProjectStatusChanged,
             summary="Move a project: draft → live → paused → closed → archived "
             "(admin, manager); the answer says what happens to work in flight", responses=errors(403, 404, 409))
def set_status(project_id: Id, body: JsonObject = Body(..., examples=[{"status": "live"}]),
               actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if "status" not in body:
        raise ValidationFailed("is required: draft, live, paused, closed or archived", loc="status")
    return svc.set_status(session, actor, project_id, body["status"])


@router.put("/projects/{project_id}/guidelines", response_model=GuidelinesPublished,
            summary="Publish new guidelines as the next version (admin, manager); "
            "with `base_version`, refused if another version was published since",
            responses=errors(403, 404, 409))
def publish_guidelines(project_id: Id, body: JsonObject = Body(..., examples=[{"guidelines": "# Guidelines\n..."}]),
                       actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    base = body.get("base_version")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
        raise ValidationFailed("must be the integer version your text started from", loc="base_version")
    return svc.publish_guidelines(session, actor, project_id, body.get("guidelines"), base_version=base)


@router.patch("/projects/{project_id}", summary="Change budget_usd, overlap or requirements (admin, manager); "
              "`effects` says what happens to work in flight", response_model=SettingsChanged,
              responses=errors(403, 404, 409))
def update_settings(project_id: Id, body: JsonObject = Body(..., examples=[{"budget_usd": "7500.00", "overlap": 2}]),
                    actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.update_settings(session, actor, project_id, body)


@router.get("/projects/{project_id}/items", response_model=ItemsPage,
            summary="Browse a project's items (admin, manager): search, filters, "
            "pages of 50 by id (`after`)", responses=errors(403, 404))
def list_items(project_id: Id, q: str = Query("", max_length=200), status: str = Query("", max_length=20),
               gold: str = Query("", max_length=5), flagged: bool = False,
               max_confidence: float | None = Query(None, ge=0, le=1),
               min_confidence: float | None = Query(None, ge=0, le=1), after: int = Query(0, ge=0, le=MAX_ID),
               actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    filters = items_svc.ItemFilters(q=q, status=status, gold=gold, flagged=flagged,
                                    max_confidence=max_confidence, min_confidence=min_confidence)
    return items_svc.list_items(session, actor, project_id, filters, after=after)


@router.get("/items/{item_id}", response_model=ItemDetail,
            summary="An item with its content as trainers saw it, judgments, reviews, "
            "consensus and history (admin, manager)", responses=errors(403, 404))
def item_detail(item_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return items_svc.item_detail(session, actor, item_id)


@router.post("/items/{item_id}/retire", response_model=ItemRetired,
             summary="Retire an item (admin, manager): kept for the record, leased to "
             "nobody, left out of exports", responses=errors(403, 404, 409))
def retire_item(item_id: Id, body: JsonObject | None = Body(None, examples=[{"reason": "duplicate prompt"}]),
                actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return items_svc.retire_item(session, actor, item_id, reason=(body or {}).get("reason"))
