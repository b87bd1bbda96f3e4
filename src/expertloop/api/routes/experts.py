from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import experts as svc
from ...services import pay
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.resources import Earnings, ExpertOut, Me
from ._base import router as make_router

router = make_router("experts")

EXAMPLE = {"name": "Dr Ada Byron", "email": "ada@example.org", "degree": "phd", "licenses": ["md"],
           "domains": {"history": 4, "law": 2}, "languages": ["en", "fr"], "hourly_rate_usd": "120.00",
           "country": "GB"}


@router.post("/experts", status_code=201, summary="Register an expert (admin, manager)",
             response_model=ExpertOut, responses=errors(403, 409))
def create_expert(body: JsonObject = Body(..., examples=[EXAMPLE]), actor: Actor = Depends(get_actor),
                  session: Session = Depends(get_session)) -> dict:
    return svc.create_expert(session, actor, body)


@router.get("/experts", summary="List experts (admin, manager)", response_model=list[ExpertOut],
            responses=errors(403))
def list_experts(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_experts(session, actor)


@router.get("/experts/{expert_id}", summary="One expert (staff, or the expert themself)",
            response_model=ExpertOut, responses=errors(403, 404))
def get_expert(expert_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.get_expert(session, actor, expert_id)


@router.get("/experts/{expert_id}/earnings", summary="Earnings by project and week",
            response_model=Earnings, responses=errors(403, 404))
def earnings(expert_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return pay.earnings(session, actor, expert_id)


@router.get("/me", summary="Who this token is", response_model=Me)
def me(actor: Actor = Depends(get_actor)) -> dict:
    return {"role": actor.role.value, "expert_id": actor.expert_id}
