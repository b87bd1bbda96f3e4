"""Staff pages for authenticity review: the evidence of each flag, and the decision."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..config import Settings
from ..deps import get_session, get_settings
from ..domain.authenticity import STATUSES
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor
from ..services import authenticity as authenticity_svc
from ..services import passport
from ..services import projects as projects_svc
from .common import PageId, finish, form_data, redirect, render, signed_in

router = APIRouter()


@router.get("/manage/projects/{project_id}/authenticity")
def queue(project_id: PageId, request: Request, status: str = "flagged", actor: Actor = Depends(signed_in),
          db: Session = Depends(get_session)):
    status = status if status in (*STATUSES, "all") else "flagged"
    checks = authenticity_svc.review_queue(db, actor, project_id, status=None if status == "all" else status)
    return render(request, "manage/authenticity.html", {
        "project": projects_svc.get_project(db, actor, project_id), "checks": checks, "status": status,
        "statuses": [*STATUSES, "all"], "counts": authenticity_svc.counts(db, actor, project_id), "nav": "manage"})


@router.post("/manage/authenticity/{check_id}/decide")
def decide(check_id: PageId, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    project_id = str(form.get("project_id") or "")
    back = f"/manage/projects/{int(project_id)}/authenticity" if project_id.isdecimal() else "/manage"
    try:
        row = authenticity_svc.decide(db, actor, check_id, form.get("outcome"), form.get("note"))
    except ValidationFailed as exc:
        return redirect(request, back, flash=("error", exc.message))
    return redirect(request, back, flash=("success", f"Check {row['id']} {row['status']}; the expert is notified."))


@router.get("/manage/projects/{project_id}/export/signed")
def signed_export(project_id: PageId, request: Request, format: str = "raw", hub: bool = False,
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session),
                  settings: Settings = Depends(get_settings)):
    """The export with its signed manifest (or the Hugging Face Hub folder), as a ZIP."""
    data = passport.export_zip(db, actor, project_id, format, hub=hub, settings=settings)
    name = f"project-{project_id}-{format}{'-hub' if hub else ''}.zip"
    return finish(request, Response(data, media_type="application/zip",
                                    headers={"Content-Disposition": f'attachment; filename="{name}"'}))


@router.get("/manage/projects/{project_id}/revocations.json")
def revocations(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    doc = passport.revocation_list(db, actor, project_id)
    return finish(request, JSONResponse(doc, headers={
        "Content-Disposition": f'attachment; filename="project-{project_id}-revocations.json"'}))


__all__ = ["router"]
