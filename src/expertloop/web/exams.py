"""Qualification exams in the browser: managers list and create them; trainers take them
against the clock and see their score and certificate (never the answer key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.policies import Actor, require_expert, require_staff
from ..domain.projects import TaskType
from ..services import exams as exams_svc
from ..services import files as files_svc
from .common import PageId, form_data, redirect, render, signed_in
from .forms import exam_answers_from_form
from .uploads import DOCUMENT_SUFFIXES, cleanup, save_upload, uploaded_file

router = APIRouter()


# -- managers -------------------------------------------------------------------------------------
@router.get("/manage/exams")
def exams_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    return render(request, "manage/exams.html", {"exams": exams_svc.exam_overview(db, actor), "nav": "exams"})


@router.post("/manage/exams")
def create_exam(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    require_staff(actor, "create exams")
    upload = uploaded_file(form, "definition")
    try:
        if upload is None:
            raise ValidationFailed("choose the exam's YAML or JSON file", loc="file")
        path = save_upload(upload, DOCUMENT_SUFFIXES)
        try:
            data = files_svc.read_document(path)
        finally:
            cleanup(path)
        exam = exams_svc.create_exam(db, actor, data)
    except ValidationFailed as exc:
        return render(request, "manage/exams.html", {
            "exams": exams_svc.exam_overview(db, actor), "errors": exc.problems, "nav": "exams",
            "upload_name": upload.filename if upload else None}, status=422)
    return redirect(request, "/manage/exams",
                    flash=("success", f"Exam “{exam['name']}” created with {exam['questions']} questions."))


# -- trainers -------------------------------------------------------------------------------------
def _standing(db: Session, actor: Actor, exam_id: int) -> dict:
    rows = exams_svc.exam_standings(db, actor, exam_id)
    if not rows:
        raise NotFound(f"exam {exam_id} not found")
    return rows[0]


def _take_context(exam: dict, attempt: dict, **extra) -> dict:
    """The attempt's questions as shown: the item without its id, in the attempt's answer order."""
    questions = [{"id": q["question_id"], "item": {k: v for k, v in q.items() if k != "question_id"}}
                 for q in attempt["questions"]]
    return {"exam": exam, "attempt": attempt, "questions": questions, "task_type": exam["task_type"],
            "options": exam["options"] or {}, "nav": "exams", **extra}


@router.get("/exams")
def trainer_exams(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if actor.expert_id is None:
        return redirect(request, "/manage/exams")
    return render(request, "exams/list.html", {"exams": exams_svc.exam_standings(db, actor), "nav": "exams"})


@router.get("/exams/{exam_id}")
def exam_page(exam_id: PageId, request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    if actor.expert_id is None:
        return redirect(request, "/manage/exams")
    exam = _standing(db, actor, exam_id)
    attempt = exams_svc.open_attempt(db, actor, exam_id)
    if attempt is None:
        return render(request, "exams/exam.html", {"exam": exam, "nav": "exams"})
    return render(request, "exams/take.html", _take_context(exam, attempt))


@router.post("/exams/{exam_id}/start")
def start(exam_id: PageId, request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_expert(actor)
    try:
        exams_svc.start_attempt(db, actor, exam_id)
    except Conflict as exc:
        return redirect(request, f"/exams/{exam_id}", flash=("error", exc.message))
    return redirect(request, f"/exams/{exam_id}")


@router.post("/exams/{exam_id}/attempts/{attempt_id}")
def submit(exam_id: PageId, attempt_id: PageId, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_expert(actor)
    exam = _standing(db, actor, exam_id)
    attempt = exams_svc.open_attempt(db, actor, exam_id)
    questions = attempt["questions"] if attempt and attempt["attempt_id"] == attempt_id else []
    answers = exam_answers_from_form(form, TaskType(exam["task_type"]), questions)
    try:
        result = exams_svc.submit_attempt(db, actor, attempt_id, answers)
    except ValidationFailed as exc:
        if attempt is None:
            raise
        return render(request, "exams/take.html", _take_context(exam, attempt, errors=exc.problems), status=422)
    except Conflict as exc:
        return redirect(request, f"/exams/{exam_id}", flash=("error", exc.message))
    score = f"{100 * result['score']:.0f}%"
    if result["passed"]:
        note = ("success", f"Passed with {score}. Your {exam['domain']} level {exam['level']} is now verified.")
    else:
        note = ("error", f"Not passed: {score}, the pass mark is {100 * exam['pass_mark']:.0f}%.")
    return redirect(request, f"/exams/{exam_id}?submitted=exam-{attempt_id}", flash=note)


__all__ = ["router"]
