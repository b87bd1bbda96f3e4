from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import jobs as jobs_svc
from ..deps import get_actor, get_session

router = APIRouter(tags=["jobs"])


@router.get("/jobs", summary="Recent jobs, newest first, with state and progress (staff)")
def list_jobs(project_id: int | None = Query(None, ge=1, le=2**31 - 1, description="Only this project's jobs."),
              state: str | None = Query(None, description="queued, running, done or failed"),
              limit: int = Query(50, ge=1, le=500),
              actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return jobs_svc.list_jobs(session, actor, project_id=project_id, state=state, limit=limit)


@router.get("/jobs/{job_id}", summary="One job: state, attempts, progress, result or error (staff)")
def get_job(job_id: int, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return jobs_svc.get_job(session, actor, job_id)
