"""Staff pages for authenticity review: the evidence of each flag, and the decision."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..config import Settings
from ..deps import get_session, get_settings
from ..domain.authenticity import STATUSES
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor
from ..services import authenticity as authenticity_svc
from ..services import passport, passport_jobs
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


@router.post("/manage/projects/{project_id}/export/signed")
def signed_export(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session),
                  settings: Settings = Depends(get_settings)):
    """Queue the export with its signed manifest (or the Hugging Face Hub folder) as a ZIP: a
    job writes it, and its download link appears under Export on the project page."""
    fmt, hub = str(form.get("format") or "raw"), form.get("hub") in ("true", "on", "1")
    try:
        job = passport_jobs.request_signed_export(db, actor, project_id, fmt, data_dir=settings.data_dir,
                                                  settings=settings, hub=hub)
    except ValidationFailed as exc:
        return redirect(request, f"/manage/projects/{project_id}#export", flash=("error", exc.message))
    note = (f"Signed export {job['id']} queued: the {job['format']} {'Hub folder' if hub else 'data'} ZIP is being "
            "written. Its download link appears under Export when it is ready.")
    return redirect(request, f"/manage/projects/{project_id}#export", flash=("success", note))


@router.get("/manage/projects/{project_id}/revocations.json")
def revocations(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    doc = passport.revocation_list(db, actor, project_id)
    return finish(request, JSONResponse(doc, headers={
        "Content-Disposition": f'attachment; filename="project-{project_id}-revocations.json"'}))


__all__ = ["router"]
