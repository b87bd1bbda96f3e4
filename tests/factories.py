"""Factories for test data, going through the same services a user would."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from expertloop.domain.policies import Actor, Role
from expertloop.services.experts import create_expert
from expertloop.services.imports import import_items
from expertloop.services.projects import create_project
from expertloop.services.tokens import issue_token

ADMIN = Actor(role=Role.admin)
_counter = itertools.count(1)


def expert(session: Session, **overrides) -> dict:
    n = next(_counter)
    data = {"name": f"Expert {n}", "email": f"expert{n}-{id(session)}@example.org", "degree": "phd",
            "domains": {"history": 4, "law": 2}, "languages": ["en"], "hourly_rate_usd": "120.00",
            "country": "GB"}
    data.update(overrides)
    return create_expert(session, ADMIN, data)


def trainer_actor(expert_row: dict) -> Actor:
    return Actor(role=Role.trainer, expert_id=expert_row["id"])


def token(session: Session, role: str, expert_id: int | None = None) -> str:
    return issue_token(session, role, expert_id)


def auth(tok: str) -> dict:
    return {"Authorization": f"Bearer {tok}"}


PROJECT_DEFAULTS = {
    "sft": {},
    "preference": {"options": {"criteria": ["accuracy", "clarity"]}},
    "ranking": {},
    "factcheck": {},
    "rubric": {"options": {"criteria": [{"name": "accuracy", "scale": [1, 5]},
                                        {"name": "style", "scale": [0, 3]}]}},
    "label": {"options": {"labels": ["yes", "no", "unsure"]}},
    "steps": {},
    "trajectory": {},
    "rubric_authoring": {"options": {"min_criteria": 2}},
}


def project(session: Session, task_type: str = "preference", **overrides) -> dict:
    data = {"name": f"{task_type} project", "task_type": task_type, "guidelines": "Be careful.",
            "overlap": 1, **PROJECT_DEFAULTS[task_type]}
    data.update(overrides)
    return create_project(session, ADMIN, data)


def item_for(task_type: str, n: int = 0, **extra) -> dict:
    base = {
        "sft": {"prompt": f"Explain thing {n}."},
        "preference": {"prompt": f"Question {n}?", "responses": [{"text": f"good {n}", "model": "m-good"},
                                                                {"text": f"bad {n}", "model": "m-bad"}]},
        "ranking": {"prompt": f"Rank {n}", "responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}]},
        "factcheck": {"prompt": f"Q{n}", "response": "Paris is in France. The sun is cold.",
                      "claims": ["Paris is in France.", "The sun is cold."]},
        "rubric": {"prompt": f"Q{n}", "response": "An answer."},
        "label": {"text": f"Text {n}"},
        "steps": {"problem": f"What is 2 + 3 * {n}?", "steps": [f"Multiply first: 3 * {n} = {3 * n}.",
                                                               f"Then add: 2 + {3 * n} = {3 * n + 3}.",
                                                               f"The answer is {3 * n + 3}."]},
        "trajectory": {"task": f"Book table {n}.", "steps": [
            {"kind": "tool_call", "name": "find_table", "arguments": {"n": n}, "id": "c1"},
            {"kind": "tool_result", "output": "table free", "id": "c1"},
            {"kind": "message", "role": "assistant", "text": "Booked."}]},
        "rubric_authoring": {"prompt": f"Is tap water safe to drink? ({n})",
                             "references": ["It depends on where you live."]},
    }[task_type]
    return {"external_id": f"{task_type}-{n}", **base, **extra}


def items(session: Session, project_id: int, task_type: str, count: int, **extra) -> dict:
    records = [(i + 1, item_for(task_type, i, **extra)) for i in range(count)]
    return import_items(session, ADMIN, project_id, records)


VALID_RESPONSE = {
    "sft": {"completion": "A careful answer."},
    "preference": {"choice": 0, "strength": 2, "rationale": "more accurate", "criteria": {"accuracy": 5}},
    "ranking": {"order": [2, 0, 1]},
    "factcheck": {"claims": [{"verdict": "supported", "evidence": ["https://en.wikipedia.org/wiki/Paris"]},
                             {"verdict": "refuted", "evidence": [], "correction": "The sun is hot."}]},
    "rubric": {"scores": {"accuracy": 4, "style": 2}, "comment": "fine"},
    "label": {"label": "yes"},
    "steps": {"ratings": [1, -1, None], "correction": "Then add: 2 + 3 * n."},
    "trajectory": {"steps": ["correct", None, "incorrect"], "failure_modes": ["hallucinated result"],
                   "verdict": "failure", "rationale": "It never booked."},
    "rubric_authoring": {"criteria": [
        {"criterion": "Says that safety depends on the location", "category": "essential"},
        {"criterion": "Claims tap water is unsafe everywhere", "category": "pitfall", "weight": -5}]},
}


def run_jobs(session: Session) -> int:
    """Run every due job (consensus refits) as a worker would, on the test's connection; how
    many ran. Tests call it where a real deployment's worker would have caught up."""
    from sqlalchemy.orm import sessionmaker

    from expertloop.jobs import JobRunner

    factory = sessionmaker(bind=session.get_bind(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False, autobegin=False)
    return JobRunner(factory).run_until_idle()


def staff_item(session: Session, view: dict) -> dict:
    """The item behind a trainer's assignment view, as staff see it (id, external id, gold): a
    trainer's view names no item, so a blind re-test cannot be linked to the first answer."""
    from expertloop.services.assignments import get_assignment

    return get_assignment(session, ADMIN, view["assignment_id"])["item"]
