from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...domain.records import ExportFormat
from ...services import exports as svc
from ..deps import get_actor, get_session
from ..schemas import Id, errors

router = APIRouter(tags=["exports"])


@router.get("/projects/{project_id}/export", summary="Stream a project's judgments as JSONL in a TRL layout",
            response_class=StreamingResponse,
            responses={200: {"description": "JSON Lines, one record per line",
                             "content": {"application/x-ndjson": {}}}, **errors(401, 403, 404, 422)})
def export(project_id: Id, request: Request, format: ExportFormat = Query(...),
           consensus: bool = Query(False, description="preference: one record per item, by consensus"),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> StreamingResponse:
    svc.iter_records(session, actor, project_id, format, consensus=consensus)  # checks before streaming

    def body():
        stream_session = request.app.state.sessionmaker()
        try:
            yield from svc.iter_jsonl(svc.iter_records(stream_session, actor, project_id, format,
                                                       consensus=consensus))
        finally:
            stream_session.close()

    filename = f"project-{project_id}-{format.value}.jsonl"
    return StreamingResponse(body(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
