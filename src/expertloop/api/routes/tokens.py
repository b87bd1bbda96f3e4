from typing import Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services.tokens import issue_token
from ..deps import get_actor, get_session

router = APIRouter(tags=["tokens"])


@router.post("/tokens", status_code=201, summary="Issue a bearer token (admins: any role; managers: reviewer, trainer)")
def create_token(body: dict[str, Any] = Body(..., examples=[{"role": "trainer", "expert_id": 1}]),
                 actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    expert_id = body.get("expert_id")
    if expert_id is not None and (isinstance(expert_id, bool) or not isinstance(expert_id, int)):
        raise ValidationFailed("must be an integer", loc="expert_id")
    token = issue_token(session, str(body.get("role", "")), expert_id, body.get("label"), actor=actor)
    return {"token": token, "role": body.get("role"), "expert_id": expert_id}
