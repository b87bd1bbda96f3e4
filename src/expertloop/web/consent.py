"""The terms page: a trainer reads a project's terms, agrees before working, or withdraws."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, ValidationFailed
from ..domain.policies import Actor
from ..services import consent as consent_svc
from .common import PageId, form_data, redirect, render, signed_in

router = APIRouter()


@router.get("/work/projects/{project_id}/terms")
def terms_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    terms = consent_svc.my_terms(db, actor, project_id)
    return render(request, "work/terms.html", {"t": terms, "nav": "work"})


@router.post("/work/projects/{project_id}/terms/agree")
def agree(project_id: PageId, request: Request, form: FormData = Depends(form_data),
          actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    raw = str(form.get("terms_version") or "")
    try:
        consent_svc.agree(db, actor, project_id, int(raw) if raw.isdecimal() else raw)
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, f"/work/projects/{project_id}/terms", flash=("error", exc.message))
    from .work import _lease_and_go  # the next task right away: agreeing was the way to it

    return _lease_and_go(request, db, actor, project_id)


@router.post("/work/projects/{project_id}/terms/withdraw")
def withdraw(project_id: PageId, request: Request, form: FormData = Depends(form_data),
             actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if form.get("confirm") != "yes":
        return redirect(request, f"/work/projects/{project_id}/terms",
                        flash=("error", "Tick the box to confirm that your work should leave the data set."))
    reason = form.get("reason")  # a file sent under this name is no reason
    try:
        reason = form.get("reason")
        done = consent_svc.withdraw(db, actor, project_id,
                                    reason=(reason.strip() or None) if isinstance(reason, str) else None)
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, f"/work/projects/{project_id}/terms", flash=("error", exc.message))
    n = done["contributions_removed"]
    return redirect(request, "/work", flash=("info", f"Consent withdrawn. {n} contribution{'' if n == 1 else 's'} "
                                                     "will leave every export from now on; your earnings stay."))
