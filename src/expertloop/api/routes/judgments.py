"""Existing judgments in: Label Studio, Argilla v2 and expertloop raw records (staff)."""

from typing import Any, Literal

from fastapi import Body, Depends, Query
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services.judgment_imports import import_judgments
from ..deps import get_actor, get_session
from ..schemas import Id, errors
from ..schemas.common import JsonValue
from ..schemas.resources import JudgmentImportResult
from ._base import router as make_router

router = make_router("judgments")

EXAMPLE = [{"id": 101, "data": {"text": "Great product"},
            "annotations": [{"completed_by": 7, "was_cancelled": False, "lead_time": 4.2,
                             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                         "value": {"choices": ["positive"]}}]}]}]


@router.post("/projects/{project_id}/judgments", status_code=201, response_model=JudgmentImportResult,
             summary="Import existing judgments (a JSON list of records; all-or-nothing, idempotent)",
             description="Records of a Label Studio JSON export (tasks with `annotations`), Argilla v2 records "
                         "(`fields`, `responses`) or expertloop's `raw` export. Items are found or created by the "
                         "source's id (kept as `external_id`), annotators by email (created as applicant experts "
                         "when new); a judgment the project already holds is skipped. Every problem is reported "
                         "at once, located by record index.",
             responses=errors(403, 404))
def import_project_judgments(project_id: Id, body: JsonValue = Body(..., examples=[EXAMPLE]),
                             source: Literal["auto", "label-studio", "argilla", "raw"] = Query("auto"),
                             question: str | None = Query(None, max_length=200,
                                                          description="the Argilla question to import"),
                             actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if not isinstance(body, list):
        raise ValidationFailed("the body must be a JSON list of records", loc="body")
    records: list[Any] = body
    return import_judgments(session, actor, project_id, enumerate(records), source=source, question=question,
                            unit="record")
