
from fastapi import Body, Depends, Query
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import factscore as factscore_svc
from ...services import generation, judging
from ...services import model_settings as settings_svc
from ...services import models as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, Limit, OptionalId, errors
from ..schemas.resources import (
    FactScoreReport,
    GenerationOut,
    JudgingOut,
    ModelCallOut,
    ModelEndpointOut,
    ModelSettingsOut,
)
from ._base import router as make_router

router = make_router("models")


@router.post("/models", status_code=201,
             summary="Register an OpenAI-compatible model endpoint (admins); api_key_env names the environment "
                     "variable holding its key (its name contains KEY or TOKEN), which is never stored",
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


@router.patch("/projects/{project_id}/models", response_model=ModelSettingsOut,
              summary="Set or clear (null) a project's candidates, claims, judge_first and ai_assistance (staff); "
                      "keys left out stay; the effects on work in flight come back in words",
              responses=errors(403, 404, 409, 422))
def update_models(project_id: Id, body: JsonObject = Body(..., examples=[{
                      "candidates": {"models": ["local-llama"], "per_item": 2, "temperature": 0.7},
                      "judge_first": None}]),
                  actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return settings_svc.update_models(session, actor, project_id, body)


@router.post("/projects/{project_id}/generate", status_code=202,
             summary="Queue the job that writes the missing candidate answers of a project's items with its "
                     "candidate models (staff); follow it at /jobs/{job_id}",
             response_model=GenerationOut, responses=errors(403, 404, 409))
def generate(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return generation.request_generation(session, actor, project_id)


@router.post("/projects/{project_id}/judge", status_code=202,
             summary="Queue a job in which a model judges the project's items (staff; pairwise items in both "
                     "orders); its answers stay apart from the experts' and the quality report measures them",
             response_model=JudgingOut, responses=errors(403, 404, 409, 422))
def judge(project_id: Id, body: JsonObject = Body(..., examples=[{"model": "local-llama"}]),
          actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    unknown = sorted(set(body) - {"model"})
    if unknown:
        raise ValidationFailed("unknown field (expected model)", loc=unknown[0])
    return judging.request_judging(session, actor, project_id, body.get("model"))


@router.get("/projects/{project_id}/factscore", response_model=FactScoreReport,
            summary="Fact vs fiction per model that wrote the responses (staff): shares of claims the experts "
                    "judged supported (FActScore), refuted and not enough info, with intervals",
            responses=errors(403, 404))
def factscore(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return factscore_svc.factscore(session, actor, project_id)


@router.get("/model-calls", response_model=list[ModelCallOut],
            summary="Recent model calls, newest first (staff): endpoint, purpose, project, job, parameters, tokens, "
                    "latency, attempts, outcome",
            responses=errors(403))
def model_calls(model: str | None = Query(None, max_length=64, description="Only this endpoint's calls"),
                project_id: OptionalId = None, limit: Limit = 50,
                actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_calls(session, actor, name=model, project_id=project_id, limit=limit)
