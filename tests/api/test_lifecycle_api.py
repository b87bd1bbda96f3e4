"""Running a project through the API: the lifecycle gates leasing, guidelines get versions,
settings changes say what happens to work in flight, items are browsed and retired."""

from __future__ import annotations

from tests.factories import auth, expert, item_for, token


def _project(client, admin, **extra) -> int:
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Lifecycle", "task_type": "label", "options": {"labels": ["yes", "no"]}, "overlap": 2,
        "guidelines": "Say yes to true statements.\nSay no otherwise.", **extra})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    items = [item_for("label", i) for i in range(3)] + [{**item_for("label", 9), "gold": {"label": "yes"}}]
    assert client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=items).status_code == 201
    return pid


def test_a_project_created_without_status_is_live_and_a_draft_leases_nothing(client, session):
    admin = auth(token(session, "admin"))
    live = _project(client, admin)
    assert client.get(f"/api/v1/projects/{live}", headers=admin).json()["status"] == "live"
    draft = _project(client, admin, status="draft")
    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    assert [p["id"] for p in client.get("/api/v1/projects", headers=trainer).json()] == [live]
    r = client.post(f"/api/v1/projects/{draft}/assignments/next", headers=trainer)
    assert r.status_code == 409 and "draft" in r.json()["detail"]
    bad = client.post("/api/v1/projects", headers=admin, json={"name": "x", "task_type": "label",
                                                              "options": {"labels": ["a", "b"]}, "status": "closed"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "status"

    assert client.post(f"/api/v1/projects/{draft}/status", headers=trainer, json={"status": "live"}).status_code == 403
    r = client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "archived"})
    assert r.status_code == 409 and "can become live, closed" in r.json()["detail"]
    r = client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "live"})
    assert r.status_code == 200 and r.json()["previous"] == "draft"
    lease = client.post(f"/api/v1/projects/{draft}/assignments/next", headers=trainer)
    assert lease.status_code == 200
    aid = lease.json()["assignment_id"]

    # paused: nothing new, but the lease held may still be submitted
    r = client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "paused"})
    assert "may be submitted" in r.json()["effect"]
    e2 = expert(session)
    other = auth(token(session, "trainer", e2["id"]))
    assert client.post(f"/api/v1/projects/{draft}/assignments/next", headers=other).status_code == 409
    assert client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer,
                       json={"response": {"label": "yes"}}).status_code == 200
    # closed: live leases are released
    assert client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "live"}).status_code == 200
    held = client.post(f"/api/v1/projects/{draft}/assignments/next", headers=other).json()["assignment_id"]
    r = client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "closed"})
    assert r.json()["released_leases"] == 1 and "1 live lease released" in r.json()["effect"]
    r = client.post(f"/api/v1/assignments/{held}/submit", headers=other, json={"response": {"label": "no"}})
    assert r.status_code == 409
    r = client.post(f"/api/v1/projects/{draft}/status", headers=admin, json={"status": "archived"})
    assert r.status_code == 200
    r = client.patch(f"/api/v1/projects/{draft}", headers=admin, json={"overlap": 3})
    assert r.status_code == 409 and "archived" in r.json()["detail"]
    # who moved it and when is in the audit log, oldest move first
    log = client.get("/api/v1/audit", headers=admin, params={"project_id": draft, "action": "project."}).json()
    moves = [(e["detail"]["from"], e["detail"]["to"]) for e in reversed(log) if e["action"] == "project.status_changed"]
    assert moves == [("draft", "live"), ("live", "paused"), ("paused", "live"), ("live", "closed"),
                     ("closed", "archived")]
    assert all(e["actor_role"] == "admin" and e["at"] for e in log)


def test_guidelines_versions_and_settings_changes(client, session):
    admin = auth(token(session, "admin"))
    pid = _project(client, admin, budget_usd="100.00")
    r = client.put(f"/api/v1/projects/{pid}/guidelines", headers=admin,
                   json={"guidelines": "Say yes to true statements.\nSay no otherwise.\nSkip opinions."})
    assert r.status_code == 200 and r.json()["guidelines_version"] == 2
    r = client.put(f"/api/v1/projects/{pid}/guidelines", headers=admin,
                   json={"guidelines": "Say yes to true statements.\nSay no otherwise.\nSkip opinions."})
    assert r.status_code == 409
    # an editor who started from version 1 does not overwrite version 2 unseen
    r = client.put(f"/api/v1/projects/{pid}/guidelines", headers=admin, json={"guidelines": "Other", "base_version": 1})
    assert r.status_code == 409 and "version 2" in r.json()["detail"]
    assert client.get(f"/api/v1/projects/{pid}", headers=admin).json()["guidelines_version"] == 2

    r = client.patch(f"/api/v1/projects/{pid}", headers=admin, json={"budget_usd": "12,50", "overlap": 0,
                                                                     "colour": "red"})
    assert r.status_code == 422
    assert {e["loc"] for e in r.json()["errors"]} == {"budget_usd", "overlap", "colour"}
    assert client.get(f"/api/v1/projects/{pid}", headers=admin).json()["budget_usd"] == "100.00"
    r = client.patch(f"/api/v1/projects/{pid}", headers=admin, json={"budget_usd": "250.00", "overlap": 1})
    assert r.status_code == 200, r.text
    effects = " ".join(r.json()["effects"])
    assert "budget now $250.00" in effects and "overlap 2 → 1" in effects
    project = client.get(f"/api/v1/projects/{pid}", headers=admin).json()
    assert project["budget_usd"] == "250.00" and project["overlap"] == 1
    r = client.patch(f"/api/v1/projects/{pid}", headers=admin, json={"requirements": {"languages": ["fr"]}})
    assert r.status_code == 200 and "requirements changed" in r.json()["effects"][0]


def test_items_are_browsed_filtered_and_retired(client, session):
    admin = auth(token(session, "admin"))
    pid = _project(client, admin)
    listed = client.get(f"/api/v1/projects/{pid}/items", headers=admin).json()
    assert len(listed["items"]) == 4 and listed["next_after"] is None
    gold = client.get(f"/api/v1/projects/{pid}/items?gold=yes", headers=admin).json()["items"]
    assert len(gold) == 1
    first = client.get(f"/api/v1/projects/{pid}/items?after={listed['items'][0]['id']}", headers=admin).json()
    assert len(first["items"]) == 3
    assert client.get(f"/api/v1/projects/{pid}/items?status=bogus", headers=admin).status_code == 422

    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    assert client.get(f"/api/v1/projects/{pid}/items", headers=trainer).status_code == 403
    target = listed["items"][0]["id"]
    assert client.get(f"/api/v1/items/{target}", headers=trainer).status_code == 403
    detail = client.get(f"/api/v1/items/{target}", headers=admin).json()
    assert detail["judgments"] == [] and "text" in detail["seen"]

    r = client.post(f"/api/v1/items/{target}/retire", headers=admin, json={"reason": "duplicate"})
    assert r.status_code == 200
    assert client.post(f"/api/v1/items/{target}/retire", headers=admin, json={}).status_code == 409
    retired = client.get(f"/api/v1/projects/{pid}/items?status=retired", headers=admin).json()["items"]
    assert [i["id"] for i in retired] == [target]
    assert client.get(f"/api/v1/projects/{pid}", headers=admin).json()["progress"]["items"] == 3
    seen = set()
    for _ in range(3):
        lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer).json()
        if lease is None:
            break
        seen.add(client.get(f"/api/v1/assignments/{lease['assignment_id']}", headers=admin).json()["item"]["id"])
        client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                    json={"response": {"label": "yes"}})
    assert target not in seen
