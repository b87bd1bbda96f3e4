"""Staff pages for authenticity review: the evidence of each flag, and the decision."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.authenticity import STATUSES
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor
from ..services import authenticity as authenticity_svc
from ..services import projects as projects_svc
from .common import PageId, form_data, redirect, render, signed_in

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
    back = f"/manage/projects/{int(project_id)}/authenticity" if project_id.isdigit() else "/manage"
    try:
        row = authenticity_svc.decide(db, actor, check_id, form.get("outcome"), form.get("note"))
    except ValidationFailed as exc:
        return redirect(request, back, flash=("error", exc.message))
    return redirect(request, back, flash=("success", f"Check {row['id']} {row['status']}; the expert is notified."))


__all__ = ["router"]
