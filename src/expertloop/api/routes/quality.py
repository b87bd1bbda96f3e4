from fastapi import Depends, Query
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services.reports import quality_report
from ..deps import get_actor, get_session
from ..schemas import Id, errors
from ..schemas.resources import QualityReport
from ._base import router as make_router

router = make_router("quality")


@router.get("/projects/{project_id}/quality",
            summary="Agreement with interval, consensus per item, trainer scorecards, bias flags, group disagreement",
            description="Reads the report stored with the project's consensus fit by the refit job (work "
                        "proportional to the request); `fresh=true`, more resamples or more listed items "
                        "than it holds compute it now.",
            response_model=QualityReport, responses=errors(403, 404))
def quality(project_id: Id,
            n_boot: int = Query(200, ge=0, le=2000, description="Bootstrap resamples for intervals"),
            consensus_limit: int = Query(1000, ge=0, le=100_000, description="Items listed, least confident first"),
            fresh: bool = Query(False, description="compute now instead of reading the report the consensus job "
                                                   "stored (which names when it was computed in computed_at)"),
            actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return quality_report(session, actor, project_id, n_boot=n_boot, consensus_limit=consensus_limit, fresh=fresh)
