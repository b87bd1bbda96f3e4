"""Qualification exams, certificates, verified levels, onboarding and the quality floor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services import exams, oversight
from expertloop.services.clock import utcnow
from tests import factories as f

EXAM = {"name": "History L4", "domain": "history", "level": 4, "task_type": "label",
        "options": {"labels": ["true", "false"]}, "pass_mark": 0.75, "time_limit_minutes": 20,
        "retake_cooldown_hours": 24,
        "questions": [{"text": f"Statement {i}", "gold": "true" if i % 2 else "false"} for i in range(4)]}


def _answers(attempt, correct: int) -> dict:
    """Answer the first ``correct`` questions right (gold alternates false/true by position)."""
    out = {}
    for pos, q in enumerate(attempt["questions"]):
        right = "true" if int(q["text"].split()[-1]) % 2 else "false"
        wrong = "false" if right == "true" else "true"
        out[str(q["question_id"])] = {"label": right if pos < correct else wrong}
    return out


def test_exam_pass_verifies_level_certifies_and_qualifies(session):
    exam = exams.create_exam(session, f.ADMIN, EXAM)
    e = f.expert(session, status="applicant", domains={"history": 5})
    actor = f.trainer_actor(e)
    attempt = exams.start_attempt(session, actor, exam["id"])
    assert len(attempt["questions"]) == 4 and "gold" not in json.dumps(attempt)
    result = exams.submit_attempt(session, actor, attempt["attempt_id"], _answers(attempt, 3))
    assert result["passed"] and result["score"] == 0.75
    assert result["certificate"]["domain"] == "history" and result["certificate"]["level"] == 4
    expert = oversight.set_status(session, f.ADMIN, e["id"], "active")
    assert expert["verified_domains"] == {"history": 4} and expert["status"] == "active"
    assert [c["level"] for c in exams.certificates(session, actor, e["id"])] == [4]
    with pytest.raises(Conflict, match="already passed"):
        exams.start_attempt(session, actor, exam["id"])


def test_exam_fail_enforces_cooldown_and_time_limit(session):
    exam = exams.create_exam(session, f.ADMIN, EXAM)
    e = f.expert(session, status="applicant")
    actor = f.trainer_actor(e)
    t0 = utcnow()
    attempt = exams.start_attempt(session, actor, exam["id"], now=t0)
    result = exams.submit_attempt(session, actor, attempt["attempt_id"], _answers(attempt, 1), now=t0)
    assert not result["passed"] and result["certificate"] is None and result["retake_allowed_at"]
    with pytest.raises(Conflict, match="retaken from"):
        exams.start_attempt(session, actor, exam["id"], now=t0 + timedelta(hours=23))
    retake = exams.start_attempt(session, actor, exam["id"], now=t0 + timedelta(hours=25))
    with pytest.raises(Conflict, match="time limit"):
        exams.submit_attempt(session, actor, retake["attempt_id"], _answers(retake, 4),
                             now=t0 + timedelta(hours=25, minutes=21))
    assert oversight.set_status  # an applicant who failed stays an applicant
    with pytest.raises(Conflict, match="pass a qualification exam"):
        oversight.set_status(session, f.ADMIN, e["id"], "active")


def test_exam_definition_and_answers_are_validated(session):
    with pytest.raises(ValidationFailed) as exc:
        exams.create_exam(session, f.ADMIN, {**EXAM, "task_type": "sft", "questions": []})
    assert {"task_type", "questions"} <= {p.loc for p in exc.value.problems}
    with pytest.raises(ValidationFailed) as exc:
        exams.create_exam(session, f.ADMIN, {**EXAM, "questions": [{"text": "no gold"}]})
    assert "questions[0].gold" in {p.loc for p in exc.value.problems}
    with pytest.raises(PermissionDenied):
        exams.create_exam(session, f.trainer_actor(f.expert(session)), EXAM)
    exam = exams.create_exam(session, f.ADMIN, EXAM)
    actor = f.trainer_actor(f.expert(session))
    attempt = exams.start_attempt(session, actor, exam["id"])
    qid = attempt["questions"][0]["question_id"]
    with pytest.raises(ValidationFailed) as exc:
        exams.submit_attempt(session, actor, attempt["attempt_id"], {str(qid): {"label": "maybe"}, "999999": {}})
    assert {f"answers.{qid}.label", "answers.999999"} <= {p.loc for p in exc.value.problems}


def test_projects_can_require_verified_levels_and_exams(session):
    exam = exams.create_exam(session, f.ADMIN, EXAM)
    p = f.project(session, "label", requirements={"domains": {"history": 4}, "verified": True, "exams": [exam["id"]]})
    f.items(session, p["id"], "label", 1)
    e = f.expert(session, domains={"history": 5})  # self-declared 5, unverified
    actor = f.trainer_actor(e)
    with pytest.raises(PermissionDenied, match="verified history level 4"):
        svc.lease_next(session, actor, p["id"])
    attempt = exams.start_attempt(session, actor, exam["id"])
    exams.submit_attempt(session, actor, attempt["attempt_id"], _answers(attempt, 4))
    assert svc.lease_next(session, actor, p["id"]) is not None


def test_quality_floor_pauses_a_trainer_releases_leases_and_notifies(client, session):
    p = f.project(session, "label", overlap=1, quality_floor={"gold_accuracy": 0.8, "min_gold": 5})
    f.items(session, p["id"], "label", 8, gold="yes")
    bad = f.trainer_actor(f.expert(session, name="Careless Carl"))
    for _ in range(5):
        lease = svc.lease_next(session, bad, p["id"])
        svc.submit(session, bad, lease["assignment_id"], {"label": "no"}, Settings())
    with pytest.raises(PermissionDenied, match="paused from this project"):
        svc.lease_next(session, bad, p["id"])
    pauses = oversight.list_pauses(session, f.ADMIN, p["id"])
    assert len(pauses) == 1 and "0/5" in pauses[0]["reason"]
    notes = oversight.notifications(session, f.ADMIN, p["id"])
    assert notes[0]["kind"] == "trainer_paused" and "Careless Carl" in notes[0]["message"]
    admin = f.auth(f.token(session, "admin"))
    r = client.get(f"/api/v1/projects/{p['id']}/pauses", headers=admin)
    assert r.status_code == 200 and r.json()[0]["expert_name"] == "Careless Carl"
    oversight.lift_pause(session, f.ADMIN, p["id"], bad.expert_id)
    assert svc.lease_next(session, bad, p["id"]) is not None


def test_a_good_trainer_is_not_paused_on_thin_evidence(session):
    p = f.project(session, "label", overlap=1, quality_floor={"gold_accuracy": 0.8, "min_gold": 5})
    f.items(session, p["id"], "label", 6, gold="yes")
    actor = f.trainer_actor(f.expert(session))
    answers = ["no", "yes", "yes", "yes", "yes", "yes"]  # 5/6 correct: interval reaches above the floor
    for label in answers:
        lease = svc.lease_next(session, actor, p["id"])
        svc.submit(session, actor, lease["assignment_id"], {"label": label}, Settings())
    assert oversight.list_pauses(session, f.ADMIN, p["id"]) == []


def _work(session, actor, project_id, answer) -> int:
    """Lease and answer until nothing is left for the trainer or they are paused; how many
    were submitted."""
    done = 0
    while True:
        try:
            lease = svc.lease_next(session, actor, project_id)
        except PermissionDenied:
            return done
        if lease is None:
            return done
        n = int(f.staff_item(session, lease)["external_id"].split("-")[1])
        svc.submit(session, actor, lease["assignment_id"], {"label": answer(n)}, Settings())
        f.run_jobs(session)  # the worker refits the stored consensus between judgments
        done += 1


def test_reliability_floor_pauses_a_guessing_trainer_without_any_gold(session):
    p = f.project(session, "label", overlap=3, quality_floor={"reliability": 0.75, "min_judgments": 20})
    f.items(session, p["id"], "label", 40)

    def truth(n):
        return "yes" if n % 3 else "no"

    careful = [f.trainer_actor(f.expert(session, name=f"Careful {i}")) for i in range(2)]
    guesser = f.trainer_actor(f.expert(session, name="Guessing Gus"))
    for actor in careful:
        assert _work(session, actor, p["id"], truth) == 40
    # right on one item in two: the consensus of the careful pair exposes it, no gold needed
    done = _work(session, guesser, p["id"], lambda n: truth(n) if n % 2 else ("no" if truth(n) == "yes" else "yes"))
    assert 20 <= done < 40  # paused once the evidence was enough, not before
    with pytest.raises(PermissionDenied, match="paused from this project"):
        svc.lease_next(session, guesser, p["id"])
    pauses = oversight.list_pauses(session, f.ADMIN, p["id"])
    assert [x["expert_name"] for x in pauses] == ["Guessing Gus"]
    # the submit reads the fit stored before it (the refit of its own judgment is queued)
    assert "estimated reliability" in pauses[0]["reason"] and f"over {done - 1} judgments" in pauses[0]["reason"]


def test_reliability_floor_leaves_careful_trainers_alone_and_needs_evidence(session):
    p = f.project(session, "label", overlap=2, quality_floor={"reliability": 0.75, "min_judgments": 20})
    f.items(session, p["id"], "label", 30)

    def truth(n):
        return "yes" if n % 3 else "no"

    a, b = (f.trainer_actor(f.expert(session)) for _ in range(2))
    assert _work(session, a, p["id"], truth) == 30
    # one slip in ten: the estimate stays near 0.9, its interval above the floor
    assert _work(session, b, p["id"], lambda n: "unsure" if n % 10 == 0 else truth(n)) == 30
    assert oversight.list_pauses(session, f.ADMIN, p["id"]) == []


def test_quality_floor_definitions_are_validated(session):
    with pytest.raises(ValidationFailed) as exc:
        f.project(session, "label", quality_floor={"min_gold": 5})
    assert "quality_floor" in {x.loc for x in exc.value.problems}
    with pytest.raises(ValidationFailed) as exc:
        f.project(session, "sft", quality_floor={"reliability": 0.7})
    assert "quality_floor.reliability" in {x.loc for x in exc.value.problems}
    with pytest.raises(ValidationFailed) as exc:
        f.project(session, "label", quality_floor={"reliability": 1.5, "min_judgments": 0})
    assert {"quality_floor.reliability", "quality_floor.min_judgments"} <= {x.loc for x in exc.value.problems}
    both = f.project(session, "label", quality_floor={"gold_accuracy": 0.8, "reliability": 0.7})
    assert both["quality_floor"] == {"gold_accuracy": 0.8, "min_gold": 10, "reliability": 0.7, "min_judgments": 20}


def test_reliability_evidence_counts_tasks_not_the_claims_inside_them(session):
    from expertloop.domain.projects import TaskType
    from expertloop.services.consensus import fit_consensus, project_judgments, trainer_reliability

    p = f.project(session, "factcheck", overlap=2)
    f.items(session, p["id"], "factcheck", 3)
    a, b = (f.trainer_actor(f.expert(session)) for _ in range(2))
    claims = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}]}
    for actor in (a, b):
        while (lease := svc.lease_next(session, actor, p["id"])) is not None:
            svc.submit(session, actor, lease["assignment_id"], claims, Settings())
    reliability = trainer_reliability(fit_consensus(project_judgments(session, p["id"], TaskType.factcheck)))
    assert {n for _acc, n in reliability.values()} == {3}  # 3 tasks of 2 claims each
