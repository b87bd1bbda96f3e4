from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import reviews as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, Limit, OptionalId, errors
from ..schemas.resources import QueueEntry, ReviewDetail
from ._base import router as make_router

router = make_router("reviews")

EXAMPLES = [{"verdict": "accept", "feedback": "Clear and well sourced."},
            {"verdict": "reject", "feedback": "Claim 2 is supported by the cited source; re-read it."},
            {"verdict": "edit", "feedback": "Tightened the wording.", "response": {"completion": "..."}}]


@router.post("/assignments/{assignment_id}/review",
             summary="Accept, reject (feedback required; the slot reopens) or edit-and-accept a submitted response",
             response_model=ReviewDetail, responses=errors(403, 404, 409))
def review(assignment_id: Id, body: JsonObject = Body(..., examples=EXAMPLES),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    feedback = body.get("feedback")
    if feedback is not None and not isinstance(feedback, str):
        raise ValidationFailed("must be a string", loc="feedback")
    return svc.review(session, actor, assignment_id, str(body.get("verdict", "")), feedback,
                      body.get("response"))


@router.get("/reviews/queue", summary="Submitted work awaiting review, oldest first (reviewers, staff)",
            response_model=list[QueueEntry], responses=errors(403))
def queue(project_id: OptionalId = None, limit: Limit = 100, actor: Actor = Depends(get_actor),
          session: Session = Depends(get_session)) -> list[dict]:
    return svc.review_queue(session, actor, project_id, limit=limit)


@router.get("/reviews/{assignment_id}", summary="A submitted response with its item, as the trainer saw it",
            response_model=ReviewDetail, responses=errors(403, 404))
def get_for_review(assignment_id: Id, actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session)) -> dict:
    return svc.get_for_review(session, actor, assignment_id)
