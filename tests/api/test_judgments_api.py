"""``POST /projects/{id}/judgments``: existing judgments in over the API, staff only."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import auth, expert, token

DATA = Path(__file__).resolve().parents[1] / "data"


def test_label_studio_tasks_import_over_the_api_once(client, session):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Reviews", "task_type": "label", "options": {"labels": ["positive", "negative", "neutral"]}})
    pid = r.json()["id"]
    tasks = json.loads((DATA / "label_studio_export.json").read_text())
    r = client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json=tasks)
    assert r.status_code == 201, r.text
    assert r.json() | {} == {"project_id": pid, "source": "label-studio", "records": 2, "judgments": 3,
                             "items_created": 2, "experts_created": 2, "skipped_existing": 0,
                             "skipped_in_source": 1}
    r = client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json=tasks)
    assert r.status_code == 201 and r.json()["judgments"] == 0 and r.json()["skipped_existing"] == 3

    tasks[1]["id"] = 103  # a new task: its answers are checked against the label set
    tasks[1]["annotations"][0]["result"][0]["value"]["choices"] = ["great"]
    tasks[0]["annotations"][0]["completed_by"] = None
    r = client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json=tasks, params={"source": "label-studio"})
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert locs == ["record 0: annotations[0].completed_by", "record 1: annotations[0]: response.label"], locs
    r = client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json=tasks, params={"source": "argilla"})
    assert r.status_code == 422 and "is not an argilla record (it looks like label-studio)" in r.text

    trainer = auth(token(session, "trainer", expert(session)["id"]))
    assert client.post(f"/api/v1/projects/{pid}/judgments", headers=trainer, json=tasks).status_code == 403
    assert client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json={"x": 1}).status_code == 422


def test_imports_and_export_requests_are_in_the_audit_log(client, session):
    from sqlalchemy import select

    from expertloop.services.uow import read
    from expertloop.storage.orm import AuditEntry

    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Reviews", "task_type": "label", "options": {"labels": ["positive", "negative", "neutral"]}})
    pid = r.json()["id"]
    tasks = json.loads((DATA / "label_studio_export.json").read_text())
    assert client.post(f"/api/v1/projects/{pid}/judgments", headers=admin, json=tasks).status_code == 201
    assert client.post(f"/api/v1/projects/{pid}/exports", headers=admin, json={"format": "label"}).status_code == 202
    with read(session):
        entries = session.execute(select(AuditEntry.action, AuditEntry.actor_role, AuditEntry.detail)
                                  .where(AuditEntry.project_id == pid).order_by(AuditEntry.id)).all()
    actions = {a: (role, detail) for a, role, detail in entries}
    assert actions["judgments.imported"][0] == "admin" and actions["judgments.imported"][1]["judgments"] == 3
    assert actions["export.requested"][1]["format"] == "label"
