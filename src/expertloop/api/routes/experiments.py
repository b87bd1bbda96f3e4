"""Experiments inside a project: start, stop, report (staff only)."""

from typing import Any

from fastapi import Body, Depends, Query
from pydantic import Field
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import experiments as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.common import View
from ._base import router as make_router

router = make_router("experiments")

EXAMPLE = {"name": "Guidelines v2 against v1", "unit": "item",
           "arms": [{"name": "v1", "kind": "guidelines", "config": {"guidelines": "Prefer the correct answer.",
                                                                    "version": 1}},
                    {"name": "v2", "kind": "guidelines",
                     "config": {"guidelines": "Prefer the correct answer; check every date.", "version": 2}}]}


class ExperimentOut(View):
    id: int
    project_id: int
    name: str
    unit: str = Field(description="What is randomised: `item` (stratified by the item's domain) or `trainer`")
    status: str = Field(description="`running` or `stopped`")
    arms: list[dict[str, Any]] = Field(description="`name`, `kind`, `config`; the first arm is the control")


class ExperimentReport(View):
    """Per arm: units, judgments and each outcome with its 95% interval; `tests`: every arm against
    the control per outcome (difference or ratio, interval, p-value, Holm-adjusted p-value);
    `power`: judgments per arm needed to detect a 3-point difference in agreement."""

    experiment: ExperimentOut
    control: str
    arms: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    power: dict[str, Any]
    randomisation: str


@router.post("/projects/{project_id}/experiments", status_code=201,
             summary="Start an experiment in a project (admin, manager); one runs at a time",
             response_model=ExperimentOut, responses=errors(403, 404, 409, 422))
def create_experiment(project_id: Id, body: JsonObject = Body(..., examples=[EXAMPLE]),
                      actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.create_experiment(session, actor, project_id, body)


@router.post("/projects/{project_id}/experiment/stop", summary="Stop the project's running experiment",
             response_model=ExperimentOut, responses=errors(403, 404))
def stop_experiment(project_id: Id, actor: Actor = Depends(get_actor),
                    session: Session = Depends(get_session)) -> dict:
    return svc.stop_experiment(session, actor, project_id)


@router.get("/projects/{project_id}/experiment",
            summary="Report of the project's latest experiment: outcomes per arm, tests, power",
            response_model=ExperimentReport, responses=errors(403, 404))
def experiment_report(project_id: Id,
                      fresh: bool = Query(False, description="refit the consensus now when the stored fit "
                                                             "is behind the latest judgments"),
                      actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.experiment_report(session, actor, project_id, fresh=fresh)
