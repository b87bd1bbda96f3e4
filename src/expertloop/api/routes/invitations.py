"""Invitations over the API (managers and admins): make one, list them, revoke one. The same
use cases as the console's Access page (:mod:`expertloop.services.accounts`)."""

from __future__ import annotations

from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import accounts as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.accounts import InvitationIssued, InvitationOut
from ._base import router as make_router

router = make_router("invitations")

EXAMPLE = {"name": "Mira Ortiz", "email": "mira@example.org", "role": "trainer", "degree": "phd",
           "domains": {"history": 4}, "languages": ["en"], "hourly_rate_usd": "90.00", "country": "ES",
           "expires_hours": 168}


@router.post("/invitations", status_code=201, response_model=InvitationIssued, responses=errors(403, 409),
             summary="Invite an expert: a single-use sign-up link with their role and profile; the secret is "
                     "returned once (admins: trainer or reviewer; managers: as they may grant)")
def create_invitation(body: JsonObject = Body(..., examples=[EXAMPLE]), actor: Actor = Depends(get_actor),
                      session: Session = Depends(get_session)) -> dict:
    return svc.create_invitation(session, actor, body)


@router.get("/invitations", response_model=list[InvitationOut], responses=errors(403),
            summary="Invitations, newest first, without their secrets (staff)")
def list_invitations(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_links(session, actor, kind="invite")


@router.delete("/invitations/{invitation_id}", response_model=InvitationOut, responses=errors(403, 404, 409),
               summary="Revoke a pending invitation: its link signs nobody up from now on (staff)")
def revoke_invitation(invitation_id: Id, actor: Actor = Depends(get_actor),
                      session: Session = Depends(get_session)) -> dict:
    return svc.revoke_invitation(session, actor, invitation_id)
