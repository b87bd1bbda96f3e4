"""Jobs are visible to staff through the API, with state and progress; trainers see none."""

from __future__ import annotations

from tests.factories import ADMIN, auth, expert, item_for, run_jobs, token


def test_jobs_are_listed_per_project_and_readable_by_id(client, session):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Labels", "task_type": "label", "options": {"labels": ["yes", "no"]}, "overlap": 2})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert client.post(f"/api/v1/projects/{pid}/items", headers=admin,
                       json=[item_for("label", i) for i in range(2)]).status_code == 201
    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer).json()
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                    json={"response": {"label": "yes"}})
    assert r.status_code == 200, r.text

    r = client.get("/api/v1/jobs", headers=admin, params={"project_id": pid})
    assert r.status_code == 200, r.text
    [job] = r.json()
    assert job["kind"] == "refit_consensus" and job["state"] == "queued" and job["project_id"] == pid
    run_jobs(session)
    r = client.get(f"/api/v1/jobs/{job['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "done" and r.json()["result"]["judgments"] == 1
    assert r.json()["progress"] == {"step": "fitting"}

    assert client.get(f"/api/v1/jobs/{job['id']}", headers=trainer).status_code == 403
    assert client.get("/api/v1/jobs", headers=trainer).status_code == 403
    assert client.get("/api/v1/jobs/999999", headers=admin).status_code == 404
    assert client.get("/api/v1/jobs", headers=admin, params={"state": "stuck"}).status_code == 422


def test_the_project_page_lists_the_projects_jobs(client, session):
    import re

    from expertloop.config import Settings
    from expertloop.services import assignments as svc
    from expertloop.services import jobs
    from tests.factories import ADMIN, items, project, trainer_actor

    p = project(session, "label", overlap=2)
    items(session, p["id"], "label", 1)
    actor = trainer_actor(expert(session))
    lease = svc.lease_next(session, actor, p["id"])
    svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, Settings())
    [job] = jobs.list_jobs(session, ADMIN, project_id=p["id"])
    page = client.get("/signin?tab=token").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/signin/token", data={"token": token(session, "manager"), "csrf_token": csrf})
    html = client.get(f"/manage/projects/{p['id']}").text
    assert "Background jobs" in html and f'data-job="{job["id"]}" data-state="queued"' in html


def test_the_server_runs_jobs_in_process_when_configured(fresh_url):
    import time

    from fastapi.testclient import TestClient

    from expertloop.app import create_app
    from expertloop.config import Settings
    from expertloop.services import jobs, uow
    from expertloop.storage.db import make_engine, make_sessionmaker

    engine = make_engine(fresh_url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        job_id = uow.run_write(s, lambda: jobs.enqueue(s, "refit_consensus", project_id=None))
    app = create_app(Settings(database_url=fresh_url, jobs_in_process=True))
    with TestClient(app):
        assert app.state.job_runner is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session() as s:
                view = jobs.get_job(s, ADMIN, job_id)
            if view["attempts"] >= 1 and view["state"] != "running":
                break
            time.sleep(0.1)
    # the handler refuses a refit without a project: recorded as a failed attempt, queued for retry
    assert view["attempts"] == 1 and view["state"] == "queued" and "project_id" in view["error"]
    engine.dispose()


def test_the_quality_api_reads_the_report_the_refit_job_stored(client, session):
    """The quality report reads every judgment: the API serves the snapshot the job stored (and
    says when it was computed); ``fresh=true`` queues a recomputation and never computes it on
    the request."""
    admin = auth(token(session, "admin"))
    pid = client.post("/api/v1/projects", headers=admin, json={
        "name": "Labels", "task_type": "label", "options": {"labels": ["yes", "no"]}, "overlap": 1}).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=[item_for("label", i) for i in range(2)])
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    for label in ("yes", "no"):
        lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer).json()
        client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                    json={"response": {"label": label}})
    run_jobs(session)
    stored = client.get(f"/api/v1/projects/{pid}/quality", headers=admin)
    assert stored.status_code == 200 and stored.json()["computed_at"] is not None
    assert stored.json()["judgments"] == 2 and stored.json()["refreshing"] is False
    fresh = client.get(f"/api/v1/projects/{pid}/quality", headers=admin, params={"fresh": "true"})
    assert fresh.status_code == 200 and fresh.json()["computed_at"] == stored.json()["computed_at"]
    assert fresh.json()["refreshing"] is True and fresh.json()["job_id"] is not None
