"""Reviewer pages: the queue (oldest first, by project) and the review of one response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.assignments import AssignmentState
from ..domain.errors import Conflict, ValidationFailed
from ..domain.policies import Actor
from ..domain.projects import TaskType
from ..services import review_tasks as tasks_svc
from ..services import reviews as reviews_svc
from .common import OptionalPageId, PageId, form_data, redirect, render, signed_in
from .forms import response_from_form

router = APIRouter()


def _queue_url(project_id: int | None) -> str:
    return f"/review?project_id={project_id}" if project_id else "/review"


@router.get("/review")
def queue(request: Request, project_id: OptionalPageId = None, actor: Actor = Depends(signed_in),
          db: Session = Depends(get_session)):
    reviews_svc.require_reviewer(actor)
    projects = reviews_svc.queue_counts(db, actor)
    rows = reviews_svc.review_queue(db, actor, project_id, limit=200)
    assigned = tasks_svc.my_queue(db, actor)
    return render(request, "review/queue.html", {"projects": projects, "rows": rows, "project_id": project_id,
                                                 "total": sum(p["pending"] for p in projects), "nav": "review",
                                                 "assigned": assigned})


@router.get("/review/next")
def next_in_queue(request: Request, project_id: OptionalPageId = None, actor: Actor = Depends(signed_in),
                  db: Session = Depends(get_session)):
    rows = reviews_svc.review_queue(db, actor, project_id, limit=1)
    if not rows:
        # True messages only: "empty" when nothing waits anywhere, else say where work is left.
        # (this project's row, if any, can only be a large project's counts a few seconds old)
        left = sum(p["pending"] for p in reviews_svc.queue_counts(db, actor) if p["project_id"] != project_id)
        if project_id is not None and left:
            return redirect(request, _queue_url(None),
                            flash=("info", f"Nothing left to review in this project; {left} "
                                           f"submission{'s' if left != 1 else ''} wait in other projects."))
        if left:
            return redirect(request, _queue_url(None), flash=("info", f"{left} submission{'s' if left != 1 else ''} "
                                                                      "wait for review."))
        return redirect(request, _queue_url(None), flash=("info", "The review queue is empty. Nice work."))
    return redirect(request, f"/review/{rows[0]['assignment_id']}?project_id={rows[0]['project_id']}")


@router.post("/review/assigned/next")
def next_assigned(request: Request, project_id: OptionalPageId = None, actor: Actor = Depends(signed_in),
                  db: Session = Depends(get_session)):
    view = tasks_svc.next_review(db, actor, project_id)
    if view is None:
        return redirect(request, "/review", flash=("info", "No review is waiting for you right now."))
    return redirect(request, f"/review/task/{view['review_task_id']}")


def _task_context(view: dict, *, editing: bool = False, **extra) -> dict:
    return _context(view, editing=editing, action=f"/review/task/{view['review_task_id']}",
                    edit_url=f"/review/task/{view['review_task_id']}?edit=1" if view["level"] == 1 else None,
                    **extra)


@router.get("/review/task/{task_id}")
def review_task_page(task_id: PageId, request: Request, edit: bool = False, actor: Actor = Depends(signed_in),
                     db: Session = Depends(get_session)):
    view = tasks_svc.get_task(db, actor, task_id)
    return render(request, "review/item.html", _task_context(view, editing=edit and view["level"] == 1))


@router.post("/review/task/{task_id}")
def review_task_submit(task_id: PageId, request: Request, form: FormData = Depends(form_data),
                       actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    view = tasks_svc.get_task(db, actor, task_id)
    verdict, out, refused = _submit_verdict(
        request, form, view, _task_context, "/review",
        lambda verdict, feedback, response: tasks_svc.submit_review(db, actor, task_id, verdict, feedback, response))
    if refused is not None:
        return refused
    earlier = "; ".join(f"level {r['level']} said {r['verdict']}" for r in out["earlier_reviews"])
    note = f"Review #{task_id}: {verdict} recorded." + (f" Earlier: {earlier}." if earlier else "")
    return redirect(request, "/review", flash=("success", note))


def _submit_verdict(request: Request, form: FormData, view: dict, context: Callable[..., dict], conflict_url: str,
                    decide: Callable[[str, str, dict | None], Any]) -> tuple[str, Any, Response | None]:
    """Both review forms (an assigned review task, a direct review): read the verdict, the
    feedback and (for an edit) the edited answer, and call ``decide``. Returns the verdict, what
    ``decide`` returned, and the page to answer instead when it was refused (the form again with
    the problems, or the queue with the reason)."""
    verdict = str(form.get("verdict") or "")
    feedback = str(form.get("feedback") or "")
    response = None
    if verdict == "edit":
        response = response_from_form(form, TaskType(view["task_type"]), view["project"]["options"] or {},
                                      view["item"])
    try:
        return verdict, decide(verdict, feedback, response), None
    except ValidationFailed as exc:
        return verdict, None, render(request, "review/item.html",
                                     context(view, editing=verdict == "edit", errors=exc.problems, feedback=feedback,
                                             prefill=response), status=422)
    except Conflict as exc:
        return verdict, None, redirect(request, conflict_url, flash=("error", exc.message))


def _context(view: dict, *, editing: bool = False, **extra) -> dict:
    extra.setdefault("action", f"/review/{view['assignment_id']}")
    extra.setdefault("edit_url", f"/review/{view['assignment_id']}?edit=1"
                                 + (f"&project_id={view['project_id']}" if view.get("project_id") else ""))
    return {"task": view, "item": view["item"], "project": view["project"], "editing": editing,
            "options": view["project"]["options"] or {}, "task_type": view["task_type"], "nav": "review", **extra}


@router.get("/review/{assignment_id}")
def review_page(assignment_id: PageId, request: Request, edit: bool = False, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    view = reviews_svc.get_for_review(db, actor, assignment_id)
    editing = edit and view["state"] == AssignmentState.submitted
    return render(request, "review/item.html", _context(view, editing=editing))


@router.post("/review/{assignment_id}")
def review_submit(assignment_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    view = reviews_svc.get_for_review(db, actor, assignment_id)
    verdict, _, refused = _submit_verdict(
        request, form, view, _context, _queue_url(view["project_id"]),
        lambda verdict, feedback, response: reviews_svc.review(db, actor, assignment_id, verdict, feedback, response))
    if refused is not None:
        return refused
    done = {"accept": "Accepted", "reject": "Rejected — the trainer will see your feedback",
            "edit": "Edited and accepted"}[verdict]
    return redirect(request, f"/review/next?project_id={view['project_id']}",
                    flash=("success", f"{done} (task #{assignment_id})."))
