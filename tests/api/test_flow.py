"""The whole flow through the API: experts → project → import → lease → submit → earnings → export."""

from __future__ import annotations

import json

from tests.factories import VALID_RESPONSE, auth, item_for, token


def test_full_flow_through_the_api(client, session):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/experts", headers=admin, json={
        "name": "Dr Zebedee Quill", "email": "zquill@example.org", "degree": "phd", "licenses": ["md"],
        "domains": {"history": 4}, "languages": ["en", "fr"], "hourly_rate_usd": "120.00", "country": "GB"})
    assert r.status_code == 201, r.text
    expert = r.json()
    assert expert["hourly_rate_usd"] == "120.00" and expert["domains"] == {"history": 4}

    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "History pairs", "task_type": "preference", "guidelines": "# Be right",
        "options": {"criteria": ["accuracy"]}, "requirements": {"domains": {"history": 3}, "languages": ["en"],
                                                                  "min_degree": "phd"},
        "overlap": 1, "lease_minutes": 30, "max_minutes_per_task": 20, "budget_usd": "5000.00"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]

    items = [item_for("preference", i, gold=0) for i in range(3)]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=items)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 3 and r.json()["with_gold"] == 3

    trainer = auth(token(session, "trainer", expert["id"]))
    r = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer)
    assert r.status_code == 200, r.text
    lease = r.json()
    staff_view = client.get(f"/api/v1/assignments/{lease['assignment_id']}", headers=admin).json()
    assert staff_view["item"]["external_id"] == "preference-0"  # oldest first at equal priority
    assert "id" not in lease["item"] and "external_id" not in lease["item"]  # a trainer's view names no item
    assert "gold" not in json.dumps(lease) and "m-good" not in json.dumps(lease)  # no gold, no model names
    shown = [resp["index"] for resp in lease["item"]["responses"]]
    assert sorted(shown) == [0, 1]

    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/heartbeat", headers=trainer)
    assert r.status_code == 200
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                    json={"response": VALID_RESPONSE["preference"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted"

    r = client.get(f"/api/v1/experts/{expert['id']}/earnings", headers=trainer)
    assert r.status_code == 200
    assert r.json()["tasks"] == 1

    r = client.get(f"/api/v1/projects/{pid}", headers=admin)
    progress = r.json()["progress"]
    assert progress["items"] == 3 and progress["items_complete"] == 1 and progress["items_remaining"] == 2

    r = client.get(f"/api/v1/projects/{pid}/export", params={"format": "preference"}, headers=admin)
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == 1
    rec = lines[0]
    assert rec["chosen"] == [{"role": "assistant", "content": "good 0"}]
    assert rec["rejected"] == [{"role": "assistant", "content": "bad 0"}]
    assert rec["prompt"] == [{"role": "user", "content": "Question 0?"}]
    meta = rec["metadata"]
    assert meta["item_external_id"] == "preference-0" and meta["guidelines_version"] == 1
    assert meta["expert"].startswith("ex_") and str(expert["id"]) != meta["expert"]
    assert "zebedee" not in json.dumps(rec).lower() and "zquill" not in json.dumps(rec).lower()


def test_health_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/api/v1/health").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/experts", "/api/v1/projects/{project_id}/assignments/next",
                 "/api/v1/assignments/{assignment_id}/submit", "/api/v1/projects/{project_id}/export"):
        assert path in spec["paths"], path
