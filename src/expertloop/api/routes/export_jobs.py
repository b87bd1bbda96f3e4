"""Exports as jobs: queue one, follow it, download its file (staff)."""

from typing import Literal

from fastapi import Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ...config import Settings
from ...domain.policies import Actor
from ...domain.records import ExportFormat
from ...services import export_jobs as svc
from ..deps import get_actor, get_session, get_settings
from ..schemas import Id, errors
from ..schemas.resources import ExportOut
from ._base import router as make_router

router = make_router("exports")

MEDIA = {"jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet", "zip": "application/zip"}


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = Field(description="record layout, as for GET /projects/{id}/export")
    file: Literal["jsonl", "parquet"] = "jsonl"
    consensus: bool = Field(False, description="one record per item, built from the consensus")
    min_judgments: int | None = Field(None, ge=1, le=1_000_000)
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    judge_settled: bool = Field(False, description="include the items a judge_first judge settled alone, "
                                                   "marked metadata.decided_by = \"judge\"")


@router.post("/projects/{project_id}/exports", status_code=202, response_model=ExportOut,
             summary="Queue an export to a file (staff); follow it at GET /exports/{id}",
             description="For exports too big for one request: a worker writes the file under the data "
                         "directory (`EXPERTLOOP_DATA_DIR`), reporting progress; `download_url` appears "
                         "when it is done. Checks (access, format, options) run before anything is queued.",
             responses=errors(403, 404, 422))
def request_export(project_id: Id, body: ExportRequest, actor: Actor = Depends(get_actor),
                   session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> dict:
    return svc.request_export(session, actor, project_id, body.format.value, data_dir=settings.data_dir,
                              consensus=body.consensus, min_judgments=body.min_judgments,
                              min_confidence=body.min_confidence, file=body.file,
                              judge_settled=body.judge_settled)


@router.get("/exports/{export_id}", response_model=ExportOut, responses=errors(403, 404),
            summary="An export job: state, records written, and its download link when done (staff)")
def get_export(export_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.get_export(session, actor, export_id)


@router.get("/exports/{export_id}/download", response_class=FileResponse,
            summary="Download the file of a finished export (staff)",
            responses={200: {"description": "the file", "content": {m: {} for m in MEDIA.values()}},
                       **errors(403, 404, 409)})
def download_export(export_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session),
                    settings: Settings = Depends(get_settings)) -> FileResponse:
    path, name = svc.export_file(session, actor, export_id, data_dir=settings.data_dir)
    return FileResponse(path, media_type=MEDIA.get(path.suffix.lstrip("."), "application/octet-stream"),
                        filename=name)
