"""Qualification exams: gold questions, a pass mark, a time limit and a retake cool-down.

Passing an exam verifies the expert's level in its domain and issues a certificate; the
answers to the questions never leave the server (a trainer learns the score, not the key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .checks import MAX_ID, Checker, join
from .errors import Problem, ValidationFailed
from .experts import MAX_DOMAIN_LEVEL
from .grading import GRADABLE, gold_score
from .items import ItemSpec, parse_item
from .projects import TaskType
from .tasks.base import Obj

EXAM_FIELDS = ("name", "domain", "level", "task_type", "options", "pass_mark", "time_limit_minutes",
               "retake_cooldown_hours", "project_id", "questions")


@dataclass(frozen=True)
class ExamSpec:
    name: str
    domain: str
    level: int
    task_type: TaskType
    options: Obj
    pass_mark: float
    time_limit_minutes: int
    retake_cooldown_hours: int
    project_id: int | None
    questions: list[ItemSpec]


def parse_exam(data: Any, check_options: Callable[[Checker, TaskType, Obj], Obj]) -> ExamSpec:
    """Validate an exam definition; every question must carry its gold answer."""
    c = Checker()
    obj = c.require_mapping(data, "exam")
    c.no_unknown(obj, EXAM_FIELDS, "")
    name = c.text(obj, "name", "", max_len=200)
    domain = c.text(obj, "domain", "", max_len=40)
    level = c.integer(obj, "level", "", lo=1, hi=MAX_DOMAIN_LEVEL)
    task_type = None
    raw_type: Any = obj.get("task_type")
    try:
        task_type = TaskType(raw_type)
        if task_type not in GRADABLE:
            raise ValueError
    except ValueError:
        c.fail("task_type", f"must be one of {', '.join(GRADABLE)}")
    options = obj.get("options") or {}
    if task_type is not None:
        options = check_options(c, task_type, options if isinstance(options, dict) else {})
        if isinstance(options, dict) and options.get("scale") is not None:
            # the exam page asks for a choice, not a point on a signed scale
            c.fail("options.scale", "exams take a choice, not a signed scale: leave scale out of an exam's options")
    pass_mark = obj.get("pass_mark", 0.8)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, (int, float)) or not 0 < pass_mark <= 1:
        c.fail("pass_mark", "must be a share between 0 and 1, e.g. 0.8")
    limit = c.integer(obj, "time_limit_minutes", "", lo=1, hi=24 * 60, required=False) or 30
    cooldown = c.integer(obj, "retake_cooldown_hours", "", lo=0, hi=24 * 365, required=False)
    project_id = c.integer(obj, "project_id", "", lo=1, hi=MAX_ID, required=False)
    raw_questions = obj.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        c.fail("questions", "must be a non-empty list of items, each with its gold answer")
        raw_questions = []
    c.raise_if_any()
    # each recorded a problem otherwise
    assert name is not None and domain is not None and level is not None and task_type is not None
    questions: list[ItemSpec] = []
    problems: list[Problem] = []
    for i, record in enumerate(raw_questions):
        loc = join("questions", i)
        try:
            q = parse_item(record, task_type, options, loc)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        if q.gold is None:
            problems.append(Problem(join(loc, "gold"), "is required: an exam question needs its answer"))
        questions.append(q)
    if problems:
        raise ValidationFailed(problems)
    return ExamSpec(name=name.strip(), domain=domain.strip().lower(), level=level, task_type=task_type,
                    options=options, pass_mark=float(pass_mark), time_limit_minutes=limit,
                    retake_cooldown_hours=24 if cooldown is None else cooldown, project_id=project_id,
                    questions=questions)


def score_attempt(task_type: TaskType, answers: list[Obj | None], golds: list[Obj]) -> float:
    """Mean per-question score; a question left unanswered scores 0."""
    if not golds:
        return 0.0
    return sum(gold_score(task_type, a, g) or 0.0 if a is not None else 0.0
               for a, g in zip(answers, golds, strict=False)) / len(golds)


def retake_allowed_at(last_failed_at: datetime | None, cooldown_hours: int) -> datetime | None:
    return None if last_failed_at is None else last_failed_at + timedelta(hours=cooldown_hours)
