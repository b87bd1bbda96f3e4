"""The expert's own view of quality decisions about them, and gold disputes."""

from typing import Literal

from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor, require_expert
from ...services import standing as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, OptionalId, errors
from ..schemas.people import DisputeDecision, DisputeOut, StandingOut
from ._base import router as make_router

router = make_router("standing")


@router.get("/projects/{project_id}/standing",
            summary="Why the expert stands where they stand: gold missed, agreement, re-tests, flags, reviews",
            response_model=StandingOut, responses=errors(403, 404))
def standing(project_id: Id, expert_id: OptionalId = None, actor: Actor = Depends(get_actor),
             session: Session = Depends(get_session)) -> dict:
    return svc.standing(session, actor, expert_id if expert_id is not None else require_expert(actor), project_id)


@router.post("/assignments/{assignment_id}/dispute", summary="Dispute the gold answer of an item you answered",
             status_code=201, response_model=DisputeOut, responses=errors(403, 404, 409))
def dispute(assignment_id: Id, body: JsonObject = Body(..., examples=[{"reason": "The source says otherwise."}]),
            actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.open_dispute(session, actor, assignment_id, body.get("reason"))


@router.get("/disputes", summary="Gold disputes to adjudicate (admin, manager)", response_model=list[DisputeOut],
            responses=errors(403))
def disputes(state: Literal["open", "upheld", "rejected"] | None = "open", project_id: OptionalId = None,
             actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_disputes(session, actor, state=state, project_id=project_id)


@router.post("/disputes/{dispute_id}/decide",
             summary="Uphold (with the corrected gold; scores are recomputed) or reject a dispute (admin, manager)",
             response_model=DisputeDecision, responses=errors(403, 404, 409))
def decide(dispute_id: Id, body: JsonObject = Body(..., examples=[{"decision": "uphold", "gold": "yes",
                                                                    "note": "The expert is right."}]),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise ValidationFailed("must be a string", loc="note")
    return svc.decide_dispute(session, actor, dispute_id, str(body.get("decision", ""))[:40],
                              gold=body.get("gold"), note=note)
