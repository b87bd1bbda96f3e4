from fastapi import Depends, Query
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import reports
from ..deps import get_actor, get_session
from ..schemas import Id, errors
from ..schemas.resources import QualityRefresh, QualityReport
from ._base import router as make_router

router = make_router("quality")


@router.get("/projects/{project_id}/quality",
            summary="Agreement with interval, consensus per item, trainer scorecards, bias flags, group disagreement",
            description="Reads the project's quality snapshot, computed by a job (work proportional to the "
                        "request, whatever the project's size). Always 200: `status` is `ready` with the report "
                        "and its `computed_at`, or `computing` when the project has no snapshot yet (this request "
                        "queued the job; ask again). `refreshing` says a newer snapshot is on its way.",
            response_model=QualityReport, responses=errors(403, 404))
def quality(project_id: Id,
            consensus_limit: int = Query(1000, ge=0, le=reports.STORED_CONSENSUS,
                                         description="Items listed, least confident first"),
            fresh: bool = Query(False, description="also queue a recomputation now (as "
                                                   "`POST /projects/{id}/quality/refresh`); the answer is the "
                                                   "current snapshot with `refreshing: true`"),
            actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if fresh:
        reports.request_refresh(session, actor, project_id)
    return reports.quality_report(session, actor, project_id, consensus_limit=consensus_limit)


@router.post("/projects/{project_id}/quality/refresh", status_code=202, response_model=QualityRefresh,
             summary="Queue a recomputation of the project's quality report (staff)",
             description="Judgment changes queue it by themselves; use this after changing gold, guidelines "
                         "or model work, or to be sure. At most one waits per project.",
             responses=errors(403, 404))
def refresh(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return reports.request_refresh(session, actor, project_id)
