from fastapi import Body, Depends
from sqlalchemy.orm import Session

from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import exams, oversight
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, Limit, OptionalId, errors
from ..schemas.resources import (
    Attempt,
    AttemptResult,
    CertificateOut,
    ExamOut,
    ExpertOut,
    ItemHistory,
    NotificationOut,
    PauseOut,
)
from ._base import router as make_router

router = make_router("vetting and routing")

EXAM_EXAMPLE = {"name": "History level 3", "domain": "history", "level": 3, "task_type": "label",
                "options": {"labels": ["true", "false"]}, "pass_mark": 0.8, "time_limit_minutes": 20,
                "retake_cooldown_hours": 24,
                "questions": [{"text": "The Battle of Hastings was fought in 1066.", "gold": "true"}]}


@router.post("/exams", status_code=201, summary="Create a qualification exam (admin, manager)",
             response_model=ExamOut, responses=errors(403, 404))
def create_exam(body: JsonObject = Body(..., examples=[EXAM_EXAMPLE]), actor: Actor = Depends(get_actor),
                session: Session = Depends(get_session)) -> dict:
    return exams.create_exam(session, actor, body)


@router.get("/exams", summary="Qualification exams", response_model=list[ExamOut])
def list_exams(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return exams.list_exams(session, actor)


@router.post("/exams/{exam_id}/attempts", summary="Start (or resume) an attempt; questions without answers",
             response_model=Attempt, responses=errors(403, 404, 409))
def start_attempt(exam_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return exams.start_attempt(session, actor, exam_id)


@router.post("/exam-attempts/{attempt_id}/submit", summary="Submit answers; returns the score and any certificate",
             response_model=AttemptResult, responses=errors(403, 404, 409))
def submit_attempt(attempt_id: Id, body: JsonObject = Body(..., examples=[{"answers": {"1": {"label": "true"}}}]),
                   actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    if "answers" not in body:
        raise ValidationFailed("is required", loc="answers")
    return exams.submit_attempt(session, actor, attempt_id, body["answers"])


@router.get("/experts/{expert_id}/certificates", summary="An expert's certificates",
            response_model=list[CertificateOut], responses=errors(403, 404))
def certificates(expert_id: Id, actor: Actor = Depends(get_actor),
                 session: Session = Depends(get_session)) -> list[dict]:
    return exams.certificates(session, actor, expert_id)


@router.post("/experts/{expert_id}/status", summary="Onboarding: applicant → qualified → active; pause, offboard",
             response_model=ExpertOut, responses=errors(403, 404, 409))
def set_status(expert_id: Id, body: JsonObject = Body(..., examples=[{"status": "active"}]),
               actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return oversight.set_status(session, actor, expert_id, str(body.get("status", "")))


@router.get("/projects/{project_id}/pauses", summary="Trainers paused from a project by its quality floor",
            response_model=list[PauseOut], responses=errors(403, 404))
def pauses(project_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return oversight.list_pauses(session, actor, project_id)


@router.post("/projects/{project_id}/pauses/{expert_id}/lift", summary="Let a paused trainer back in",
             response_model=PauseOut, responses=errors(403, 404, 409))
def lift(project_id: Id, expert_id: Id, actor: Actor = Depends(get_actor),
         session: Session = Depends(get_session)) -> dict:
    return oversight.lift_pause(session, actor, project_id, expert_id)


@router.get("/notifications", summary="Paused trainers and escalated items, newest first",
            response_model=list[NotificationOut], responses=errors(403))
def notifications(project_id: OptionalId = None, limit: Limit = 100, actor: Actor = Depends(get_actor),
                  session: Session = Depends(get_session)) -> list[dict]:
    return oversight.notifications(session, actor, project_id, limit)


@router.get("/items/{item_id}/history", summary="An item's routing history: judgments, decisions, escalations",
            response_model=ItemHistory, responses=errors(403, 404))
def item_history(item_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return oversight.item_history(session, actor, item_id)
