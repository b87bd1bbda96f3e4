"""What the console reads about exams and oversight: an expert's standing per exam, the open
attempt, attempts and passes per exam, the notification count."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied
from expertloop.services import assignments, exams, oversight
from expertloop.services.clock import utcnow
from tests import factories as f
from tests.integration.test_vetting import EXAM, _answers


def _standing(session, actor, exam_id, now):
    [row] = exams.exam_standings(session, actor, exam_id, now=now)
    return row


def test_standing_follows_an_expert_from_not_taken_to_passed(session):
    exam = exams.create_exam(session, f.ADMIN, EXAM)
    actor = f.trainer_actor(f.expert(session, status="applicant"))
    t0 = utcnow()
    row = _standing(session, actor, exam["id"], t0)
    assert row["status"] == "not_taken" and row["can_start"] and row["questions"] == 4
    assert exams.open_attempt(session, actor, exam["id"], now=t0) is None

    attempt = exams.start_attempt(session, actor, exam["id"], now=t0)
    row = _standing(session, actor, exam["id"], t0 + timedelta(minutes=1))
    assert row["status"] == "in_progress" and row["deadline"] == attempt["deadline"] and row["can_start"]
    shown = exams.open_attempt(session, actor, exam["id"], now=t0 + timedelta(minutes=1))
    assert shown["attempt_id"] == attempt["attempt_id"] and len(shown["questions"]) == 4
    assert "gold" not in json.dumps(shown)

    exams.submit_attempt(session, actor, attempt["attempt_id"], _answers(attempt, 1), now=t0 + timedelta(minutes=2))
    row = _standing(session, actor, exam["id"], t0 + timedelta(hours=1))
    assert row["status"] == "failed" and row["last_score"] == 0.25 and not row["can_start"]
    assert row["retake_allowed_at"].startswith(str((t0 + timedelta(hours=24, minutes=2)).date()))
    assert _standing(session, actor, exam["id"], t0 + timedelta(hours=25))["can_start"]

    # a retake whose time runs out counts as failed at its deadline, without anyone writing it
    late = exams.start_attempt(session, actor, exam["id"], now=t0 + timedelta(hours=25))
    row = _standing(session, actor, exam["id"], t0 + timedelta(hours=26))
    assert row["status"] == "failed" and row["last_submitted_at"] == late["deadline"] and row["last_score"] == 0
    assert exams.open_attempt(session, actor, exam["id"], now=t0 + timedelta(hours=26)) is None

    third = exams.start_attempt(session, actor, exam["id"], now=t0 + timedelta(hours=51))
    exams.submit_attempt(session, actor, third["attempt_id"], _answers(third, 4), now=t0 + timedelta(hours=51))
    row = _standing(session, actor, exam["id"], t0 + timedelta(hours=52))
    assert row["status"] == "passed" and not row["can_start"] and row["attempts"] == 3
    assert row["certificate"]["level"] == EXAM["level"] and row["certificate"]["score"] == 1.0

    [overview] = [e for e in exams.exam_overview(session, f.ADMIN) if e["id"] == exam["id"]]
    assert (overview["attempts"], overview["passes"], overview["candidates"], overview["questions"]) == (3, 1, 1, 4)
    with pytest.raises(PermissionDenied):
        exams.exam_overview(session, actor)
    with pytest.raises(PermissionDenied):
        exams.exam_standings(session, f.ADMIN)            # staff have no standing of their own


def test_notification_count_and_item_history_name_the_project(session):
    p = f.project(session, "factcheck", overlap=2, tiers=[{"name": "junior", "requirements": {}},
                                                          {"name": "senior", "requirements": {"min_degree": "phd"}}])
    before = oversight.notification_count(session, f.ADMIN)
    f.items(session, p["id"], "factcheck", 1)
    for verdict in ("supported", "refuted"):
        actor = f.trainer_actor(f.expert(session))
        lease = assignments.lease_next(session, actor, p["id"])
        claims = [{"verdict": verdict} for _ in lease["item"]["claims"]]
        assignments.submit(session, actor, lease["assignment_id"], {"claims": claims}, Settings())
    assert oversight.notification_count(session, f.ADMIN) == before + 1
    history = oversight.item_history(session, f.ADMIN, f.staff_item(session, lease)["id"])
    assert history["project_id"] == p["id"] and history["required_tier"] == "senior"
    with pytest.raises(PermissionDenied):
        oversight.notification_count(session, actor)
