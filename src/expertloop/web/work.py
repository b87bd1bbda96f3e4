"""Trainer pages: projects to work on, the task pages, heartbeats, and My work."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..config import Settings
from ..deps import get_session, get_settings
from ..domain.assignments import AssignmentState
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.policies import Actor, can_work_on
from ..domain.projects import TaskType
from ..services import assignments as assignments_svc
from ..services import authenticity as authenticity_svc
from ..services import consent as consent_svc
from ..services import exams as exams_svc
from ..services import experts as experts_svc
from ..services import lifecycle as lifecycle_svc
from ..services import projects as projects_svc
from ..services import reviews as reviews_svc
from ..services import work_summary as work_svc
from ..services.consent import ConsentRequired
from .auth import add_flash
from .common import PageId, finish, form_data, redirect, render, signed_in
from .forms import response_from_form
from .render import markdown

router = APIRouter()
LIVE = AssignmentState.leased
WORKABLE = (AssignmentState.leased, AssignmentState.expired)  # the task page still opens (to say so)


def _expert_only(request: Request, actor: Actor) -> Response | None:
    if actor.expert_id is None:
        return redirect(request, "/manage", flash=("info", "Task pages are for experts; staff review and manage."))
    return None


@router.get("/work")
def projects_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if (other := _expert_only(request, actor)) is not None:
        return other
    projects = projects_svc.list_projects(db, actor)
    summary = work_svc.work_summary(db, actor)
    open_flags = authenticity_svc.open_flag_count(db, actor)
    return render(request, "work/projects.html", {"projects": projects, "held": summary.held,
                                                  "done": summary.done_by_project, "nav": "work",
                                                  "open_flags": open_flags})


@router.post("/work/projects/{project_id}/next")
def next_task(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
              db: Session = Depends(get_session)):
    if (other := _expert_only(request, actor)) is not None:
        return other
    return _lease_and_go(request, db, actor, project_id)


def _lease_and_go(request: Request, db: Session, actor: Actor, project_id: int, suffix: str = "") -> Response:
    try:
        view = assignments_svc.lease_next(db, actor, project_id)
    except ConsentRequired:
        return redirect(request, f"/work/projects/{project_id}/terms",
                        flash=("info", "Please read this project's terms; agree to them to start working."))
    except (Conflict, PermissionDenied) as exc:
        return redirect(request, "/work" + suffix, flash=("error", exc.message))
    if view is None:
        return redirect(request, f"/work/projects/{project_id}/empty{suffix}")
    return redirect(request, f"/tasks/{view['assignment_id']}{suffix}")


@router.get("/work/projects/{project_id}/empty")
def nothing_left(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session)):
    project = projects_svc.get_project(db, actor, project_id)
    return render(request, "work/empty.html", {"project": project, "nav": "work"})


def _task_context(db: Session, actor: Actor, view: dict) -> dict:
    project = projects_svc.get_project(db, actor, view["project_id"])
    if "guidelines" in view:  # an experiment arm's guidelines: the version this task was leased under
        project = {**project, "guidelines": view["guidelines"], "guidelines_version": view["guidelines_version"]}
    return {"task": view, "project": project, "item": view["item"], "options": project["options"] or {},
            "task_type": view["task_type"], "idempotency_key": secrets.token_urlsafe(16), "nav": "work",
            "guidelines_change": lifecycle_svc.guidelines_change(db, actor, view["project_id"], view["assignment_id"])}


@router.get("/tasks/{assignment_id}")
def task_page(assignment_id: PageId, request: Request, actor: Actor = Depends(signed_in),
              db: Session = Depends(get_session)):
    view = assignments_svc.get_assignment(db, actor, assignment_id)
    if not can_work_on(actor, view["expert_id"]):
        return redirect(request, f"/review/{assignment_id}")
    if view["state"] not in WORKABLE:
        return redirect(request, f"/my-work/{assignment_id}")
    if view["state"] == LIVE and _needs_terms(db, actor, view["project_id"]):
        return _to_terms(request, view["project_id"])
    return render(request, "tasks/page.html", _task_context(db, actor, view))


def _needs_terms(db: Session, actor: Actor, project_id: int) -> bool:
    """Terms were published while the trainer held this lease (taken when the project had none),
    and they have agreed to no version: the submit would be refused, so they read them first."""
    try:
        terms = consent_svc.my_terms(db, actor, project_id)
    except NotFound:
        return False
    return bool(terms["terms_version"]) and terms["consent"] is None


def _to_terms(request: Request, project_id: int) -> Response:
    return redirect(request, f"/work/projects/{project_id}/terms",
                    flash=("info", "This project published terms while you held your task. Agree to them to go "
                                   "back to it (your answer is kept as a draft in this browser)."))


@router.post("/tasks/{assignment_id}/submit")
def submit(assignment_id: PageId, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)):
    view = assignments_svc.get_assignment(db, actor, assignment_id)
    project = projects_svc.get_project(db, actor, view["project_id"])
    response = response_from_form(form, TaskType(view["task_type"]), project["options"] or {}, view["item"])
    key = str(form.get("idempotency_key") or "") or None
    try:
        signals = _signals(form.get("authenticity"))
        result = assignments_svc.submit(db, actor, assignment_id, response, settings, idempotency_key=key,
                                        authenticity=signals,
                                        ai_discarded=form.get("ai_discarded") == "1")
    except ValidationFailed as exc:
        ctx = _task_context(db, actor, view)
        ctx.update(errors=exc.problems, prefill=response)
        return render(request, "tasks/page.html", ctx, status=422)
    except ConsentRequired:
        return _to_terms(request, view["project_id"])
    except Conflict as exc:
        return redirect(request, "/work", flash=("error", exc.message))
    earned = result.get("earned_usd")
    note = f"Submitted. You earned ${earned} for {result.get('minutes', '0')} min." if earned else "Submitted."
    if form.get("then") == "stop":
        return redirect(request, f"/my-work?submitted={assignment_id}", flash=("success", note))
    add_flash(request, "success", note)
    return _lease_and_go(request, db, actor, view["project_id"], suffix=f"?submitted={assignment_id}")


def _signals(raw: object) -> object:
    """The writing-process aggregates the page's script sends (JSON in a hidden field), or None."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    if len(raw) > 100_000:
        raise ValidationFailed("is too long", loc="authenticity")
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed("is not valid JSON", loc="authenticity") from None
    except RecursionError:  # [[[[… deeper than the decoder goes
        raise ValidationFailed("is nested too deeply", loc="authenticity") from None


@router.get("/work/writing-signals")
def writing_signals(request: Request, actor: Actor = Depends(signed_in)):
    """What the workspace records while an expert writes, and why (the same words as the docs)."""
    return render(request, "work/writing_signals.html", {"nav": "work"})


@router.get("/work/flags")
def my_flags(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if (other := _expert_only(request, actor)) is not None:
        return other
    return render(request, "work/flags.html", {"checks": authenticity_svc.my_checks(db, actor), "nav": "my-work"})


@router.post("/work/flags/{check_id}/reply")
def reply_to_flag(check_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        authenticity_svc.reply(db, actor, check_id, form.get("reply"))
    except (ValidationFailed, PermissionDenied) as exc:
        return redirect(request, "/work/flags", flash=("error", exc.message))
    return redirect(request, "/work/flags", flash=("success", "Your reply was sent to the project's staff."))


@router.post("/tasks/{assignment_id}/release")
def release(assignment_id: PageId, request: Request, form: FormData = Depends(form_data),
            actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    view = assignments_svc.get_assignment(db, actor, assignment_id)
    try:
        assignments_svc.release(db, actor, assignment_id)
    except Conflict as exc:
        return redirect(request, "/work", flash=("error", exc.message))
    if form.get("then") == "stop":
        return redirect(request, f"/work?released={assignment_id}",
                        flash=("info", "Task released. It will not be offered to you again."))
    add_flash(request, "info", "Skipped. Here is the next task.")
    return _lease_and_go(request, db, actor, view["project_id"], suffix=f"?released={assignment_id}")


@router.post("/tasks/{assignment_id}/heartbeat")
def heartbeat(assignment_id: PageId, request: Request, actor: Actor = Depends(signed_in),
              db: Session = Depends(get_session), settings: Settings = Depends(get_settings)):
    out = assignments_svc.heartbeat(db, actor, assignment_id, settings)
    out["lease_expires_at"] = out["lease_expires_at"].replace("+00:00", "Z")
    return finish(request, JSONResponse(out))


@router.post("/preview")
def preview(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in)):
    """Markdown preview for the answer editor: the same sanitiser as every other page."""
    text = form.get("text")
    return finish(request, JSONResponse({"html": str(markdown(text if isinstance(text, str) else ""))}))


@router.get("/my-work")
def my_work(request: Request, state: AssignmentState | None = None, page: int = Query(1, ge=1, le=1_000_000),
            actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if (other := _expert_only(request, actor)) is not None:
        return other
    work = work_svc.my_work(db, actor, state=state, page=page)
    exam_names = {e["id"]: e["name"] for e in exams_svc.list_exams(db, actor)}
    return render(request, "work/my_work.html", {
        "work": work, "summary": work.summary, "rows": work.rows, "state": work.state, "nav": "my-work",
        "tabs": [AssignmentState.submitted, AssignmentState.accepted, AssignmentState.rejected, LIVE],
        "me": experts_svc.get_expert(db, actor, work.summary.expert_id), "exam_names": exam_names,
        "certificates": exams_svc.certificates(db, actor, work.summary.expert_id)})


@router.get("/my-work/{assignment_id}")
def my_work_item(assignment_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session)):
    view = reviews_svc.get_outcome(db, actor, assignment_id)
    if view["state"] == LIVE and can_work_on(actor, view["expert_id"]):
        return redirect(request, f"/tasks/{assignment_id}")
    return render(request, "work/outcome.html", {"task": view, "item": view["item"], "project": view["project"],
                                                 "options": view["project"]["options"] or {},
                                                 "task_type": view["task_type"], "nav": "my-work"})


__all__ = ["router"]
