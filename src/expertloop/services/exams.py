"""Qualification exams: create, take within the time limit, get graded, earn a certificate."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from ..domain.exams import parse_exam, retake_allowed_at, score_attempt
from ..domain.experts import ExpertStatus
from ..domain.policies import Actor, can_read_expert, require_expert, require_staff
from ..domain.presentation import make_presentation, trainer_view
from ..domain.projects import TaskType, check_options
from ..domain.responses import parse_response
from ..storage.orm import Certificate, Exam, ExamAttempt, ExamQuestion, Expert
from .clock import utcnow
from .uow import CommitThenRaise, reads, writes
from .views import iso

_rng = random.SystemRandom()


def exam_view(exam: Exam, n_questions: int) -> dict:
    return {"id": exam.id, "name": exam.name, "domain": exam.domain, "level": exam.level,
            "task_type": exam.task_type, "options": exam.options, "pass_mark": exam.pass_mark,
            "time_limit_minutes": exam.time_limit_minutes, "retake_cooldown_hours": exam.retake_cooldown_hours,
            "project_id": exam.project_id, "questions": n_questions}


def certificate_view(c: Certificate) -> dict:
    return {"id": c.id, "expert_id": c.expert_id, "exam_id": c.exam_id, "domain": c.domain, "level": c.level,
            "score": round(c.score, 4), "issued_at": iso(c.issued_at)}


@writes
def create_exam(session: Session, actor: Actor, data: dict) -> dict:
    require_staff(actor, "create exams")
    spec = parse_exam(data, check_options)
    exam = Exam(name=spec.name, domain=spec.domain, level=spec.level, task_type=spec.task_type.value,
                options=spec.options, pass_mark=spec.pass_mark, time_limit_minutes=spec.time_limit_minutes,
                retake_cooldown_hours=spec.retake_cooldown_hours, project_id=spec.project_id)
    session.add(exam)
    session.flush()
    session.add_all(ExamQuestion(exam_id=exam.id, position=i, payload=q.payload, gold=q.gold)
                    for i, q in enumerate(spec.questions))
    view = exam_view(exam, len(spec.questions))
    return view


def _load_exam(session: Session, exam_id: int) -> Exam:
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound(f"exam {exam_id} not found")
    return exam


def _questions(session: Session, exam_id: int) -> list[ExamQuestion]:
    return list(session.execute(select(ExamQuestion).where(ExamQuestion.exam_id == exam_id)
                                .order_by(ExamQuestion.position)).scalars())


@reads
def list_exams(session: Session, actor: Actor) -> list[dict]:
    exams = session.execute(select(Exam).order_by(Exam.id)).scalars()
    return [exam_view(e, len(_questions(session, e.id))) for e in exams]


def _attempt_view(attempt: ExamAttempt, exam: Exam, questions: list[ExamQuestion], now: datetime) -> dict:
    task_type = TaskType(exam.task_type)
    order = (attempt.presentation or {})
    return {
        "attempt_id": attempt.id, "exam_id": exam.id, "deadline": iso(attempt.deadline),
        "seconds_left": max(0, int((attempt.deadline - now).total_seconds())),
        "submitted_at": iso(attempt.submitted_at), "score": attempt.score, "passed": attempt.passed,
        "questions": [{"question_id": q.id, **trainer_view(task_type, q.payload, order.get(str(q.id)))}
                      for q in questions] if attempt.submitted_at is None else [],
    }


@writes
def start_attempt(session: Session, actor: Actor, exam_id: int, *, now: datetime | None = None) -> dict:
    """Open an attempt (or return the open one). A failed attempt blocks retakes until the
    cool-down has passed; a passed exam cannot be retaken."""
    expert_id = require_expert(actor)
    now = now or utcnow()
    exam = _load_exam(session, exam_id)
    attempts = list(session.execute(select(ExamAttempt).where(
        ExamAttempt.exam_id == exam_id, ExamAttempt.expert_id == expert_id).order_by(ExamAttempt.id)).scalars())
    questions = _questions(session, exam_id)
    for a in attempts:
        if a.submitted_at is None and now < a.deadline:
            view = _attempt_view(a, exam, questions, now)
            return view
    _close_lapsed(attempts, now)
    if any(a.passed for a in attempts):  # lapsed attempts closed above are kept
        raise CommitThenRaise(Conflict(f"exam {exam_id} is already passed"))
    # a failed attempt was submitted, or closed at its deadline above
    failed = [a.submitted_at for a in attempts if a.passed is False and a.submitted_at is not None]
    allowed = retake_allowed_at(max(failed) if failed else None, exam.retake_cooldown_hours)
    if allowed is not None and now < allowed:
        raise CommitThenRaise(Conflict(f"exam {exam_id} can be retaken from {iso(allowed)}"))
    task_type = TaskType(exam.task_type)
    presentation = {str(q.id): p for q in questions
                    if (p := make_presentation(task_type, q.payload, _rng)) is not None}
    attempt = ExamAttempt(exam_id=exam_id, expert_id=expert_id, started_at=now,
                          deadline=now + timedelta(minutes=exam.time_limit_minutes), presentation=presentation)
    session.add(attempt)
    session.flush()
    view = _attempt_view(attempt, exam, questions, now)
    return view


def _close_lapsed(attempts: list[ExamAttempt], now: datetime) -> None:
    """An attempt whose time ran out unsubmitted counts as failed at its deadline."""
    for a in attempts:
        if a.submitted_at is None and now >= a.deadline:
            a.submitted_at, a.score, a.passed = a.deadline, 0.0, False


@writes
def submit_attempt(session: Session, actor: Actor, attempt_id: int, answers: object, *,
                   now: datetime | None = None) -> dict:
    """Grade an attempt against gold; on a pass, verify the domain level and certify."""
    expert_id = require_expert(actor)
    now = now or utcnow()
    attempt = session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.expert_id != expert_id:
        raise NotFound(f"exam attempt {attempt_id} not found")
    if attempt.submitted_at is not None:
        raise Conflict(f"exam attempt {attempt_id} was already submitted")
    exam = _load_exam(session, attempt.exam_id)
    if now >= attempt.deadline:
        _close_lapsed([attempt], now)  # recorded as failed, and the late answers refused
        raise CommitThenRaise(Conflict(f"the time limit of {exam.time_limit_minutes} minutes has passed; "
                                       "the attempt counts as failed"))
    questions = _questions(session, exam.id)
    if not isinstance(answers, dict):
        raise ValidationFailed("must be an object of question_id -> response", loc="answers")
    task_type = TaskType(exam.task_type)
    known = {str(q.id) for q in questions}
    problems = [Problem(f"answers.{k}", "is not a question of this exam") for k in answers if str(k) not in known]
    clean: dict[str, dict] = {}
    for q in questions:
        if str(q.id) in answers or q.id in answers:
            raw = answers.get(str(q.id), answers.get(q.id))
            try:
                clean[str(q.id)] = parse_response(raw, task_type, exam.options, q.payload, loc=f"answers.{q.id}")
            except ValidationFailed as exc:
                problems += exc.problems
    if problems:
        raise ValidationFailed(problems)
    score = score_attempt(task_type, [clean.get(str(q.id)) for q in questions], [q.gold for q in questions])
    attempt.answers, attempt.submitted_at, attempt.score = clean, now, score
    attempt.passed = score >= exam.pass_mark
    certificate = None
    if attempt.passed:
        expert = session.get_one(Expert, expert_id)
        verified = dict(expert.verified_domains or {})
        verified[exam.domain] = max(verified.get(exam.domain, 0), exam.level)
        expert.verified_domains = verified
        if expert.status == ExpertStatus.applicant.value:
            expert.status = ExpertStatus.qualified.value
        certificate = Certificate(expert_id=expert_id, exam_id=exam.id, domain=exam.domain, level=exam.level,
                                  score=score, issued_at=now)
        session.add(certificate)
        session.flush()
    result = {"attempt_id": attempt.id, "exam_id": exam.id, "score": round(score, 4), "passed": attempt.passed,
              "pass_mark": exam.pass_mark,
              "certificate": certificate_view(certificate) if certificate else None,
              "retake_allowed_at": None if attempt.passed else iso(
                  retake_allowed_at(now, exam.retake_cooldown_hours))}
    return result


@reads
def certificates(session: Session, actor: Actor, expert_id: int) -> list[dict]:
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own certificates")
    rows = session.execute(select(Certificate).where(Certificate.expert_id == expert_id)
                           .order_by(Certificate.issued_at)).scalars()
    return [certificate_view(c) for c in rows]


def _question_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(select(ExamQuestion.exam_id, func.count())
                                .group_by(ExamQuestion.exam_id)).all())


@reads
def exam_overview(session: Session, actor: Actor) -> list[dict]:
    """Every exam with its attempts, passes and candidates (staff)."""
    require_staff(actor, "see exam results")
    counts = _question_counts(session)
    stats = {exam_id: (n, int(passes or 0), people) for exam_id, n, passes, people in session.execute(
        select(ExamAttempt.exam_id, func.count(), func.sum(case((ExamAttempt.passed.is_(True), 1), else_=0)),
               func.count(func.distinct(ExamAttempt.expert_id))).group_by(ExamAttempt.exam_id)).all()}
    out = []
    for exam in session.execute(select(Exam).order_by(Exam.id)).scalars():
        n, passes, people = stats.get(exam.id, (0, 0, 0))
        out.append({**exam_view(exam, counts.get(exam.id, 0)), "attempts": n, "passes": passes, "candidates": people})
    return out


@reads
def exam_standings(session: Session, actor: Actor, exam_id: int | None = None, *,
                   now: datetime | None = None) -> list[dict]:
    """The expert's standing in every exam (or one): ``not_taken``, ``in_progress`` (with its
    deadline), ``passed`` (with the certificate) or ``failed`` (with when a retake is allowed).
    Reads only; a lapsed attempt counts as failed at its deadline, as when starting one."""
    expert_id = require_expert(actor)
    now = now or utcnow()
    q = select(Exam).order_by(Exam.id)
    if exam_id is not None:
        _load_exam(session, exam_id)
        q = q.where(Exam.id == exam_id)
    counts = _question_counts(session)
    attempts: dict[int, list[ExamAttempt]] = {}
    for a in session.execute(select(ExamAttempt).where(ExamAttempt.expert_id == expert_id)
                             .order_by(ExamAttempt.id)).scalars():
        attempts.setdefault(a.exam_id, []).append(a)
    certs = {c.exam_id: certificate_view(c) for c in session.execute(
        select(Certificate).where(Certificate.expert_id == expert_id)).scalars()}
    out = []
    for exam in session.execute(q).scalars():
        mine = attempts.get(exam.id, [])
        live = next((a for a in mine if a.submitted_at is None and now < a.deadline), None)
        finished = [(a.submitted_at or a.deadline, a.score or 0.0, bool(a.passed)) for a in mine if a is not live]
        last = max(finished, key=lambda f: f[0]) if finished else None
        failed_at = max((at for at, _s, ok in finished if not ok), default=None)
        retake = retake_allowed_at(failed_at, exam.retake_cooldown_hours)
        if any(ok for _at, _s, ok in finished):
            status = "passed"
        elif live is not None:
            status = "in_progress"
        elif last is not None:
            status = "failed"
        else:
            status = "not_taken"
        out.append({**exam_view(exam, counts.get(exam.id, 0)), "status": status, "attempts": len(mine),
                    "last_score": None if last is None else round(last[1], 4),
                    "last_submitted_at": None if last is None else iso(last[0]),
                    "deadline": iso(live.deadline) if live is not None else None,
                    "retake_allowed_at": iso(retake) if status == "failed" else None,
                    "can_start": status == "not_taken" or status == "in_progress"
                    or (status == "failed" and (retake is None or now >= retake)),
                    "certificate": certs.get(exam.id)})
    return out


@reads
def open_attempt(session: Session, actor: Actor, exam_id: int, *, now: datetime | None = None) -> dict | None:
    """The expert's attempt in progress on an exam (questions, never the answers), or None."""
    expert_id = require_expert(actor)
    now = now or utcnow()
    exam = _load_exam(session, exam_id)
    for attempt in session.execute(select(ExamAttempt).where(
            ExamAttempt.exam_id == exam_id, ExamAttempt.expert_id == expert_id,
            ExamAttempt.submitted_at.is_(None)).order_by(ExamAttempt.id.desc())).scalars():
        if now < attempt.deadline:
            return _attempt_view(attempt, exam, _questions(session, exam_id), now)
    return None
