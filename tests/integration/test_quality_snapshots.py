"""The quality report is a stored snapshot a job computes: requests read it, queue it when it is
missing, show when it was computed and whether a newer one is on its way, and never compute it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied
from expertloop.services import assignments as svc
from expertloop.services import jobs, reports, uow
from expertloop.services.clock import utcnow
from expertloop.storage.orm import Job
from tests import factories as f
from tests.web.helpers import PageClient


def _judge(session, actor, project_id, response, n=1):
    for _ in range(n):
        lease = svc.lease_next(session, actor, project_id)
        assert lease is not None
        svc.submit(session, actor, lease["assignment_id"], response, Settings())


def _waiting(session, project_id) -> list[tuple[str, str]]:
    with uow.read(session):
        return [(j.kind, j.state) for j in session.execute(select(Job).where(
            Job.project_id == project_id, Job.state.in_((jobs.QUEUED, jobs.RUNNING)))).scalars()]


def _quality_never_computed_here(monkeypatch):
    """Fail if a request computes the report (only jobs may)."""
    def refuse(*_a, **_k):
        raise AssertionError("the quality report was computed outside a job")
    monkeypatch.setattr(reports, "project_quality", refuse)


def test_the_first_request_queues_the_job_and_answers_computing(session, client, monkeypatch):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 3)
    _judge(session, f.trainer_actor(f.expert(session)), p["id"], {"label": "yes"}, 2)
    manager = f.auth(f.token(session, "manager"))
    with monkeypatch.context() as m:
        _quality_never_computed_here(m)
        first = client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager)
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "computing" and body["computed_at"] is None and body["refreshing"] is True
    assert body["project_id"] == p["id"] and body["task_type"] == "label" and body["job_id"] is not None
    assert "trainers" not in body and "judgments" not in body
    assert _waiting(session, p["id"]) == [(jobs.REFIT_CONSENSUS, jobs.QUEUED)]  # one job, however many ask
    client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager)
    assert len(_waiting(session, p["id"])) == 1
    f.run_jobs(session)
    ready = client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()
    assert ready["status"] == "ready" and ready["judgments"] == 2 and ready["computed_at"] is not None
    assert ready["refreshing"] is False and ready["job_id"] is None
    assert [c["judgments"] for c in ready["trainers"]] == [2]


def test_new_judgments_refresh_the_snapshot_through_the_job_and_the_old_one_shows_meanwhile(session, client):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 4)
    trainer = f.trainer_actor(f.expert(session))
    _judge(session, trainer, p["id"], {"label": "yes"}, 2)
    f.run_jobs(session)
    manager = f.auth(f.token(session, "manager"))
    before = client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()
    assert before["judgments"] == 2 and before["refreshing"] is False
    _judge(session, trainer, p["id"], {"label": "no"}, 2)  # the submits queue the refit (debounced)
    stale = client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()
    assert stale["status"] == "ready" and stale["judgments"] == 2 and stale["computed_at"] == before["computed_at"]
    assert stale["refreshing"] is True and stale["job_id"] is not None
    f.run_jobs(session)
    after = client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()
    assert after["judgments"] == 4 and after["refreshing"] is False


def test_types_without_consensus_get_their_snapshot_from_the_refresh_job(session, monkeypatch):
    p = f.project(session, "sft", overlap=1)
    f.items(session, p["id"], "sft", 4)
    trainer = f.trainer_actor(f.expert(session))
    _judge(session, trainer, p["id"], {"completion": "An ideal answer."}, 2)
    with monkeypatch.context() as m:
        _quality_never_computed_here(m)
        first = reports.quality_report(session, f.ADMIN, p["id"])
    assert first["status"] == "computing"
    assert _waiting(session, p["id"]) == [(jobs.REFRESH_QUALITY, jobs.QUEUED)]
    f.run_jobs(session)
    ready = reports.quality_report(session, f.ADMIN, p["id"])
    assert ready["status"] == "ready" and ready["judgments"] == 2 and not ready["refreshing"]
    # their submits queue nothing; an old snapshot, when read, queues a check for changes
    _judge(session, trainer, p["id"], {"completion": "Another ideal answer."}, 1)
    assert reports.quality_report(session, f.ADMIN, p["id"])["judgments"] == 2
    assert _waiting(session, p["id"]) == []
    later = utcnow() + timedelta(seconds=reports.REVALIDATE_SECONDS + 1)
    old = reports.quality_report(session, f.ADMIN, p["id"], now=later)
    assert old["judgments"] == 2 and old["refreshing"] is True
    f.run_jobs(session)
    assert reports.quality_report(session, f.ADMIN, p["id"])["judgments"] == 3


def test_a_check_that_finds_nothing_changed_only_marks_the_snapshot_current(session, monkeypatch):
    p = f.project(session, "sft", overlap=1)
    f.items(session, p["id"], "sft", 2)
    _judge(session, f.trainer_actor(f.expert(session)), p["id"], {"completion": "An ideal answer."}, 1)
    reports.quality_report(session, f.ADMIN, p["id"])
    f.run_jobs(session)
    computed = reports.quality_report(session, f.ADMIN, p["id"])["computed_at"]
    later = utcnow() + timedelta(seconds=reports.REVALIDATE_SECONDS + 1)
    assert reports.quality_report(session, f.ADMIN, p["id"], now=later)["refreshing"] is True
    monkeypatch.setattr(reports, "compute_report", lambda *_a, **_k: pytest.fail("recomputed without a change"))
    f.run_jobs(session)
    again = reports.quality_report(session, f.ADMIN, p["id"])
    assert again["judgments"] == 1 and again["computed_at"] >= computed and not again["refreshing"]


def test_a_refresh_on_demand_recomputes_even_without_new_judgments(session, client):
    p = f.project(session, "sft", overlap=1)
    f.items(session, p["id"], "sft", 2)
    _judge(session, f.trainer_actor(f.expert(session)), p["id"], {"completion": "An ideal answer."}, 1)
    reports.quality_report(session, f.ADMIN, p["id"])
    f.run_jobs(session)
    manager = f.auth(f.token(session, "manager"))
    r = client.post(f"/api/v1/projects/{p['id']}/quality/refresh", headers=manager)
    assert r.status_code == 202 and r.json()["kind"] == jobs.REFRESH_QUALITY and r.json()["job_id"]
    again = client.post(f"/api/v1/projects/{p['id']}/quality/refresh", headers=manager).json()
    assert again["job_id"] == r.json()["job_id"]  # one waiting job per project
    assert client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()["refreshing"] is True
    assert f.run_jobs(session) == 1
    assert client.get(f"/api/v1/projects/{p['id']}/quality", headers=manager).json()["refreshing"] is False


def test_trainers_cannot_read_or_refresh_the_report(session, client):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 2)
    expert = f.expert(session)
    trainer_actor = f.trainer_actor(expert)
    _judge(session, trainer_actor, p["id"], {"label": "yes"}, 1)
    f.run_jobs(session)
    trainer = f.auth(f.token(session, "trainer", expert["id"]))
    assert client.get(f"/api/v1/projects/{p['id']}/quality", headers=trainer).status_code == 403
    assert client.post(f"/api/v1/projects/{p['id']}/quality/refresh", headers=trainer).status_code == 403
    with pytest.raises(PermissionDenied):
        reports.quality_report(session, trainer_actor, p["id"])
    with pytest.raises(PermissionDenied):
        reports.request_refresh(session, trainer_actor, p["id"])
    page = PageClient(client, f.token(session, "trainer", expert["id"]), "/work")
    assert page.get(f"/manage/projects/{p['id']}/quality").status_code == 403
    assert page.post(f"/manage/projects/{p['id']}/quality/refresh", {}).status_code == 403
    assert _waiting(session, p["id"]) == []


def test_the_console_shows_computing_then_as_of_then_refreshing(session, client):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 2)
    _judge(session, f.trainer_actor(f.expert(session)), p["id"], {"label": "yes"}, 1)
    page = PageClient(client, f.token(session, "manager"), "/manage")
    computing = page.get(f"/manage/projects/{p['id']}/quality")
    assert computing.status_code == 200 and "being computed" in computing.text
    assert 'data-state="computing"' in computing.text and "data-reload-after" in computing.text
    f.run_jobs(session)
    ready = page.get(f"/manage/projects/{p['id']}/quality")
    assert 'data-state="ready"' in ready.text and "As of" in ready.text and "being computed" not in ready.text
    r = page.post(f"/manage/projects/{p['id']}/quality/refresh", {})
    assert r.status_code == 303
    refreshing = page.get(f"/manage/projects/{p['id']}/quality")
    assert 'data-state="refreshing"' in refreshing.text and "refreshing…" in refreshing.text


def test_a_programme_dashboard_reads_the_jobs_figures_and_matches_the_live_ones(session, monkeypatch):
    """Above ``LIVE_JUDGMENTS`` the project page's per-day and per-trainer figures come from the
    snapshot (as of its time): the same numbers a live count gives, never counted on the request."""
    from datetime import UTC, datetime

    from expertloop.services import dashboards, reviews

    p = f.project(session, "label", overlap=2, hourly_rate_usd="60.00", budget_usd="100.00")
    f.items(session, p["id"], "label", 4)
    people = [f.expert(session, name=n) for n in ("Ada", "Bo", "Cy")]
    day1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    done = []
    for k, who in enumerate([0, 1, 2, 0, 1, 2]):
        actor = f.trainer_actor(people[who])
        when = day1 + timedelta(days=k // 3, minutes=k)
        lease = svc.lease_next(session, actor, p["id"], now=when)
        out = svc.submit(session, actor, lease["assignment_id"], {"label": ("yes", "no")[k % 2]}, Settings(),
                         now=when + timedelta(minutes=2))
        done.append(out["assignment_id"])
    reviews.review(session, f.ADMIN, done[0], "accept")
    reviews.review(session, f.ADMIN, done[1], "reject", "Read it again.")
    f.run_jobs(session)
    now = day1 + timedelta(days=3)
    live = dashboards.project_dashboard(session, f.ADMIN, p["id"], now=now)
    assert live["live"] and live["activity_as_of"] is None and live["trainers"]

    monkeypatch.setattr(dashboards, "LIVE_JUDGMENTS", 0)
    monkeypatch.setattr(dashboards, "_judged_work", lambda *_a: pytest.fail("counted on the request"))
    monkeypatch.setattr(dashboards, "_pay", lambda *_a: pytest.fail("summed on the request"))
    big = dashboards.project_dashboard(session, f.ADMIN, p["id"], now=now)
    assert not big["live"] and big["activity_as_of"] is not None
    for key in ("days", "submissions_per_day", "spend_per_day_cents", "cumulative_spend_cents", "spent_cents",
                "budget_days_left", "trainers", "agreement_per_day"):
        assert big[key] == live[key], key

    with uow.write(session):  # no snapshot yet: the figures wait for the job, the counts stay live
        session.execute(reports.QualitySnapshot.__table__.delete())
    waiting = dashboards.project_dashboard(session, f.ADMIN, p["id"], now=now)
    assert waiting["activity_as_of"] is None and waiting["trainers"] == [] and sum(waiting["submissions_per_day"]) == 0
    assert waiting["spent_cents"] == live["spent_cents"]
    assert waiting["project"]["progress"] == live["project"]["progress"]


def test_model_work_after_an_old_snapshot_was_read_still_forces_the_recompute(session):
    """A read of an old snapshot queues a check that may skip the work; model work (or a gold
    correction) arriving while it waits must turn that job into a recomputation, not be dropped."""
    from expertloop.jobs import handlers

    p = f.project(session, "sft", overlap=1)
    f.items(session, p["id"], "sft", 2)
    _judge(session, f.trainer_actor(f.expert(session)), p["id"], {"completion": "An ideal answer."}, 1)
    reports.quality_report(session, f.ADMIN, p["id"])
    f.run_jobs(session)
    later = utcnow() + timedelta(seconds=reports.REVALIDATE_SECONDS + 1)
    assert reports.quality_report(session, f.ADMIN, p["id"], now=later)["refreshing"] is True
    handlers._model_work_changed(session, p["id"])
    with uow.read(session):
        waiting = session.execute(select(Job).where(Job.project_id == p["id"],
                                                    Job.state == jobs.QUEUED)).scalars().all()
    assert [(j.kind, j.payload) for j in waiting] == [(jobs.REFRESH_QUALITY, {"force": True})]
