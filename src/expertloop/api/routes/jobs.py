from typing import Literal

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import jobs as jobs_svc
from ..deps import get_actor, get_session
from ..schemas import Id, OptionalId, errors
from ..schemas.resources import JobOut
from ._base import router as make_router

router = make_router("jobs")


@router.get("/jobs", summary="Recent jobs, newest first, with state and progress (staff)",
            response_model=list[JobOut], responses=errors(403))
def list_jobs(project_id: OptionalId = None,
              state: Literal["queued", "running", "done", "failed"] | None = Query(None),
              limit: int = Query(50, ge=1, le=500, description="At most this many jobs (1–500)"),
              actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return jobs_svc.list_jobs(session, actor, project_id=project_id, state=state, limit=limit)


@router.get("/jobs/{job_id}", summary="One job: state, attempts, progress, result or error (staff)",
            response_model=JobOut, responses=errors(403, 404))
def get_job(job_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return jobs_svc.get_job(session, actor, job_id)
