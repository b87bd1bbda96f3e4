import json
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from ...domain.policies import Actor
from ...domain.records import ExportFormat
from ...services import exports as svc
from ..deps import get_actor, get_session
from ..schemas import Id, errors

router = APIRouter(tags=["exports"])

EXPORT_DESCRIPTION = """\
Streams one JSON record per line (`application/x-ndjson`) in the TRL layout `format` names, each
with provenance in `metadata` (pseudonymous expert, `review`, `reviewer`, `is_gold`, `judgments`),
item by item. `file=parquet` sends a Parquet file instead (written first, then sent: the first
byte comes when the whole file is ready). For exports that may outrun a request, queue one with
`POST /projects/{id}/exports` and download its file when done.

`consensus=true` gives one record per item built from the project's consensus (label, factcheck,
preference, ranking, stepwise and trajectory formats) with `judgments`, `agreement` and `confidence`. `min_judgments`
and `min_confidence` leave out items resting on fewer counted judgments or a less confident
consensus; ties never become a chosen/rejected pair.

Items a `judge_first` judge settled alone (no expert saw them) are left out unless
`judge_settled=true`: then they follow the experts' items, one record each with the judge's
answer, marked `metadata.decided_by = "judge"` (expert records say `"experts"`), `metadata.judge`
(endpoint, model, confidence) and `judgments: 0`.

What was left out is only known once the stream ends, when headers are long sent. With
`summary=true` the last line is a trailer, `{"_summary": {"records": N, "unit": "judgments" |
"items", "left_out": {"min_judgments": n, "min_confidence": n, "tie": n, "no_consensus": n,
"judge_settled": n}}}`
(reasons with no count are absent); without it every line is a record.
"""


@router.get("/projects/{project_id}/export", summary="Stream a project's judgments as JSONL in a TRL layout",
            description=EXPORT_DESCRIPTION, response_class=StreamingResponse,
            responses={200: {"description": "JSON Lines, one record per line (or a Parquet file)",
                             "content": {"application/x-ndjson": {}, "application/vnd.apache.parquet": {}}},
                       **errors(401, 403, 404, 422)})
def export(project_id: Id, request: Request, format: ExportFormat = Query(...),
           consensus: bool = Query(False, description="one record per item, built from the consensus"),
           min_judgments: int | None = Query(None, ge=1, le=1_000_000,
                                             description="leave out items with fewer counted judgments"),
           min_confidence: float | None = Query(None, ge=0.0, le=1.0,
                                                description="leave out items whose consensus posterior is lower"),
           judge_settled: bool = Query(False, description="include the items a judge_first judge settled "
                                                          "alone, marked metadata.decided_by = \"judge\""),
           summary: bool = Query(False, description='end the stream with a {"_summary": ...} line (JSONL)'),
           file: Literal["jsonl", "parquet"] = Query("jsonl", description="jsonl (streamed) or parquet"),
           actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> StreamingResponse:
    def records(s: Session) -> svc.ExportStream:
        return svc.iter_records(s, actor, project_id, format, consensus=consensus, min_judgments=min_judgments,
                                min_confidence=min_confidence, judge_settled=judge_settled)

    records(session)  # checks before streaming

    def body():
        stream_session = request.app.state.sessionmaker()
        try:
            stream = records(stream_session)
            if file == "parquet":
                yield from svc.iter_parquet(stream)
                return
            yield from svc.iter_jsonl(stream)
            if summary:
                yield (json.dumps({"_summary": stream.summary()}) + "\n").encode()
        finally:
            stream_session.close()

    filename = f"project-{project_id}-{format.value}.{file}"
    return StreamingResponse(body(), media_type="application/vnd.apache.parquet" if file == "parquet"
                             else "application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
