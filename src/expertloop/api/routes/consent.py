from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.checks import MAX_ID
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import consent
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.resources import ConsentOut, MyTerms, Terms, Withdrawal
from ._base import router as make_router

router = make_router("consent")


@router.get("/projects/{project_id}/consent", summary="The project's terms and the calling expert's consent",
            response_model=MyTerms, responses=errors(403, 404))
def my_terms(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return consent.my_terms(session, actor, project_id)


@router.post("/projects/{project_id}/consent", summary="Agree to the current version of the project's terms (expert)",
             response_model=ConsentOut, responses=errors(403, 404, 409))
def agree(project_id: Id, body: JsonObject = Body(..., examples=[{"terms_version": 1}]),
          actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if "terms_version" not in body:
        raise ValidationFailed("is required: the version of the terms you read", loc="terms_version")
    return consent.agree(session, actor, project_id, body["terms_version"])


@router.post("/projects/{project_id}/consent/withdraw",
             summary="Withdraw consent: yours, or (admin, manager) an expert's; their work leaves every later export",
             response_model=Withdrawal, responses=errors(403, 404, 409))
def withdraw(project_id: Id, body: JsonObject = Body(default={}, examples=[{"reason": "changed my mind"}]),
             actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    expert_id = body.get("expert_id")
    if expert_id is not None and (isinstance(expert_id, bool) or not isinstance(expert_id, int)
                                  or not 1 <= expert_id <= MAX_ID):
        raise ValidationFailed("must be an integer expert id", loc="expert_id")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed("must be a string", loc="reason")
    return consent.withdraw(session, actor, project_id, expert_id=expert_id, reason=reason)


@router.put("/projects/{project_id}/terms", summary="Publish new terms (admin, manager): the version goes up by one",
            response_model=Terms, responses=errors(403, 404))
def publish_terms(project_id: Id, body: JsonObject = Body(..., examples=[{"terms": "# Terms\n\n..."}]),
                  actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return consent.publish_terms(session, actor, project_id, body.get("terms"))


@router.get("/projects/{project_id}/consents", summary="Every consent and withdrawal in a project (admin, manager)",
            response_model=list[ConsentOut], responses=errors(403, 404))
def consents(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return consent.list_consents(session, actor, project_id)
