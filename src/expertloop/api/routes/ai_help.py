"""AI help: queue the job that generates a project's suggestions."""

from fastapi import Depends
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...services import ai_help as svc
from ..deps import get_actor, get_session
from ..schemas import Id, errors
from ..schemas.common import View
from ._base import router as make_router

router = make_router("ai help")


class SuggestionsQueued(View):
    project_id: int
    job_id: int | None


@router.post("/projects/{project_id}/ai-suggestions",
             summary="Queue the job that generates the AI suggestions items lack (staff)",
             description="For a project with `options.ai_assistance`. Imports queue it by themselves; "
                         "call this after changing the option or registering the endpoint.",
             response_model=SuggestionsQueued, status_code=202, responses=errors(403, 404))
def request_suggestions(project_id: Id, actor: Actor = Depends(get_actor),
                        session: Session = Depends(get_session)) -> dict:
    return svc.request_suggestions(session, actor, project_id)
