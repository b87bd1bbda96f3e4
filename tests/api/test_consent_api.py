"""Consent over HTTP: a trainer reads and agrees to the terms, staff publish and list, a
withdrawal empties the export of that trainer's work."""

from __future__ import annotations

from tests.factories import auth, expert, item_for, token


def test_consent_flow_through_the_api(client, session):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Labels under terms", "task_type": "label", "options": {"labels": ["yes", "no"]},
        "overlap": 1, "terms": "# Terms\n\nYou may withdraw."})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert client.post(f"/api/v1/projects/{pid}/items", headers=admin,
                       json=[item_for("label", i) for i in range(2)]).status_code == 201
    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))

    r = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer)
    assert r.status_code == 403 and "agree to version 1" in r.json()["detail"]
    r = client.get(f"/api/v1/projects/{pid}/consent", headers=trainer)
    assert r.status_code == 200 and r.json()["terms_version"] == 1 and r.json()["consent"] is None
    assert client.post(f"/api/v1/projects/{pid}/consent", headers=trainer, json={}).status_code == 422
    assert client.post(f"/api/v1/projects/{pid}/consent", headers=trainer, json={"terms_version": 9}).status_code == 409
    r = client.post(f"/api/v1/projects/{pid}/consent", headers=trainer, json={"terms_version": 1})
    assert r.status_code == 200 and r.json()["agreed_at"]

    lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer).json()
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                    json={"response": {"label": "yes"}})
    assert r.status_code == 200, r.text
    export = client.get(f"/api/v1/projects/{pid}/export?format=label", headers=admin)
    assert export.status_code == 200 and export.text.count("\n") == 1 and '"terms_version":1' in export.text

    # trainers cannot publish terms nor read the consent register
    assert client.put(f"/api/v1/projects/{pid}/terms", headers=trainer, json={"terms": "x"}).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/consents", headers=trainer).status_code == 403
    assert client.post(f"/api/v1/projects/{pid}/consent/withdraw", headers=admin, json={}).status_code == 422
    assert client.post(f"/api/v1/projects/{pid}/consent/withdraw", headers=trainer,
                       json={"expert_id": "me"}).status_code == 422

    r = client.post(f"/api/v1/projects/{pid}/consent/withdraw", headers=trainer, json={"reason": "changed my mind"})
    assert r.status_code == 200 and r.json()["contributions_removed"] == 1
    export = client.get(f"/api/v1/projects/{pid}/export?format=label", headers=admin)
    assert export.status_code == 200 and export.text == ""
    listed = client.get(f"/api/v1/projects/{pid}/consents", headers=admin).json()
    assert listed[0]["withdrawal_reason"] == "changed my mind" and listed[0]["withdrawn_by"] == "expert"

    r = client.put(f"/api/v1/projects/{pid}/terms", headers=admin, json={"terms": "# Terms v2"})
    assert r.status_code == 200 and r.json()["terms_version"] == 2
    assert client.get(f"/api/v1/projects/{pid}", headers=admin).json()["terms_version"] == 2
