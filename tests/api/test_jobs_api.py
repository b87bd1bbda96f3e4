"""Jobs are visible to staff through the API, with state and progress; trainers see none."""

from __future__ import annotations

from tests.factories import auth, expert, item_for, run_jobs, token


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
