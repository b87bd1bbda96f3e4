"""Assigned reviews: the next review for the calling reviewer, their queue, and their verdict."""

from fastapi import Body, Depends, Response
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import review_tasks as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, OptionalId, errors
from ..schemas.people import MyReviewQueue, ReviewTaskOut
from ._base import router as make_router

router = make_router("reviews")


@router.post("/reviews/next",
             summary="Lease the next sampled review to the calling reviewer (204 when none is left for them)",
             response_model=ReviewTaskOut,
             responses={204: {"description": "No review left for this reviewer"}, **errors(403)})
def next_review(project_id: OptionalId = None, actor: Actor = Depends(get_actor),
                session: Session = Depends(get_session)):
    view = svc.next_review(session, actor, project_id)
    if view is None:
        return Response(status_code=204)
    return view


@router.get("/reviews/mine", summary="Reviews waiting for the calling reviewer, per project, and the one they hold",
            response_model=MyReviewQueue, responses=errors(403))
def my_queue(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.my_queue(session, actor)


@router.post("/review-tasks/{task_id}/verdict",
             summary="Submit the verdict of a leased review; the answer shows earlier verdicts",
             response_model=ReviewTaskOut, responses=errors(403, 404, 409))
def submit(task_id: Id, body: JsonObject = Body(..., examples=[{"verdict": "accept", "feedback": "Clear."}]),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    feedback = body.get("feedback")
    if feedback is not None and not isinstance(feedback, str):
        raise ValidationFailed("must be a string", loc="feedback")
    return svc.submit_review(session, actor, task_id, str(body.get("verdict", ""))[:40], feedback,
                             body.get("response"))
