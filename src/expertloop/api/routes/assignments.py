from typing import Annotated

from fastapi import Body, Depends, Header, Response
from sqlalchemy.orm import Session

from ...config import Settings
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import assignments as svc
from ..deps import get_actor, get_session, get_settings
from ..schemas import Id, JsonObject, Limit, OptionalId, errors
from ..schemas.resources import AssignmentOut, Heartbeat, Released, Submitted
from ._base import router as make_router

router = make_router("assignments")

# Printable ASCII without spaces, as HTTP header values and the column allow.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                              pattern=r"^[\x21-\x7e]+$",
                                              description="Any unique string per logical submit (1–200 "
                                                          "printable characters): a retry returns the first "
                                                          "result")]


@router.post("/projects/{project_id}/assignments/next",
             summary="Lease the next item for the calling expert (204 when nothing is left for them)",
             response_model=AssignmentOut,
             responses={204: {"description": "Nothing left for this expert"}, **errors(403, 404, 409)})
def lease_next(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)):
    view = svc.lease_next(session, actor, project_id)
    if view is None:
        return Response(status_code=204)
    return view


@router.get("/assignments", summary="Assignments: an expert's own, or any for staff",
            response_model=list[AssignmentOut])
def list_assignments(project_id: OptionalId = None, expert_id: OptionalId = None, limit: Limit = 100,
                     actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_assignments(session, actor, project_id=project_id, expert_id=expert_id, limit=limit)


@router.get("/assignments/{assignment_id}", summary="One assignment", response_model=AssignmentOut,
            responses=errors(404))
def get_assignment(assignment_id: Id, actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session)) -> dict:
    return svc.get_assignment(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/heartbeat", summary="Keep the lease alive and count active time",
             response_model=Heartbeat, responses=errors(403, 404, 409))
def heartbeat(assignment_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
              settings: Settings = Depends(get_settings)) -> dict:
    return svc.heartbeat(session, actor, assignment_id, settings)


@router.post("/assignments/{assignment_id}/release", summary="Give the item back (skip)",
             response_model=Released, responses=errors(403, 404, 409))
def release(assignment_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.release(session, actor, assignment_id)


@router.post("/assignments/{assignment_id}/submit",
             summary="Submit a typed response; Idempotency-Key makes retries safe",
             description="The body is read as JSON whatever its Content-Type. A retry with the same "
                         "`Idempotency-Key` returns the first result; any other submit of a submitted "
                         "assignment is a 409. `authenticity` (optional) carries writing-process "
                         "aggregates per free-text field — counts and summaries only, never keystrokes: "
                         "`typed_chars`, `pasted_chars`, `paste_events`, `paste_sizes`, "
                         "`inserted_without_keys`, `insert_events_without_keys`, `keystrokes`, "
                         "`away_seconds`, `away_events`, `final_chars`, `interkey` "
                         "(`n`, `median_ms`, `p10_ms`, `p90_ms`); see docs/integrity.md. "
                         "`ai_discarded: true` records that the trainer threw away the AI suggestion "
                         "shown with the task.",
             response_model=Submitted, responses=errors(403, 404, 409))
def submit(assignment_id: Id,
           body: JsonObject = Body(..., examples=[{"response": {"choice": 0, "strength": 2}},
                                                  {"response": {"choice": 0, "strength": 2, "rationale": "A is right."},
                                                   "authenticity": {"rationale": {"typed_chars": 11, "keystrokes": 12,
                                                                                  "final_chars": 11}}}]),
           idempotency_key: IdempotencyKey = None,
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)) -> dict:
    if "response" not in body:
        raise ValidationFailed("is required", loc="response")
    discarded = body.get("ai_discarded", False)
    if not isinstance(discarded, bool):
        raise ValidationFailed("must be true or false", loc="ai_discarded")
    return svc.submit(session, actor, assignment_id, body["response"], settings, idempotency_key=idempotency_key,
                      authenticity=body.get("authenticity"), ai_discarded=discarded)
