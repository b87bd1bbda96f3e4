from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import tokens as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.resources import TokenIssued, TokenOut
from ._base import router as make_router

router = make_router("tokens")


@router.post("/tokens", status_code=201, summary="Issue a bearer token (admins: any role; managers: reviewer, trainer)",
             response_model=TokenIssued, responses=errors(403, 404))
def create_token(body: JsonObject = Body(..., examples=[{"role": "trainer", "expert_id": 1, "label": "laptop"}]),
                 actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    expert_id = body.get("expert_id")
    if expert_id is not None and (isinstance(expert_id, bool) or not isinstance(expert_id, int)):
        raise ValidationFailed("must be an integer", loc="expert_id")
    return svc.create_token(session, str(body.get("role", "")), expert_id, body.get("label"), actor=actor)


@router.get("/tokens", summary="Tokens without their secrets (admins: all; managers: reviewer and trainer tokens)",
            response_model=list[TokenOut], responses=errors(403))
def list_tokens(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_tokens(session, actor)


@router.delete("/tokens/{token_id}",
               summary="Revoke a token (admins: any; managers: reviewer and trainer tokens); refused from the "
                       "next request on, browser sessions included",
               response_model=TokenOut, responses=errors(403, 404))
def revoke_token(token_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.revoke_token(session, token_id, actor=actor)
