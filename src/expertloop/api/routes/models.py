from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import models as svc
from ..deps import get_actor, get_session
from ..schemas import JsonObject, errors
from ..schemas.resources import ModelEndpointOut
from ._base import router as make_router

router = make_router("models")


@router.post("/models", status_code=201,
             summary="Register an OpenAI-compatible model endpoint (staff); api_key_env names the environment "
                     "variable holding its key, which is never stored",
             response_model=ModelEndpointOut, responses=errors(403, 409, 422))
def add_model(body: JsonObject = Body(..., examples=[{"name": "local-llama", "base_url": "http://localhost:11434/v1",
                                                      "model": "llama3.1:8b", "api_key_env": None,
                                                      "max_concurrency": 4, "timeout_s": 60}]),
              actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    unknown = sorted(set(body) - {"name", "base_url", "model", "api_key_env", "max_concurrency", "timeout_s"})
    if unknown:
        raise ValidationFailed("unknown field (expected name, base_url, model, api_key_env, max_concurrency, "
                               "timeout_s)", loc=unknown[0])
    return svc.add_endpoint(session, actor, body.get("name"), body.get("base_url"), body.get("model"),
                            api_key_env=body.get("api_key_env"), max_concurrency=body.get("max_concurrency"),
                            timeout_s=body.get("timeout_s"))


@router.get("/models", summary="Model endpoints (staff): never a key, only its variable's name and whether it is set",
            response_model=list[ModelEndpointOut], responses=errors(403))
def list_models(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_endpoints(session, actor)
