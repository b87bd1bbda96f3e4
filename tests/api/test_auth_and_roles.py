"""Tokens and roles: who may read and change what; gold never reaches a trainer."""

from __future__ import annotations

from tests import factories as f
from tests.factories import auth, token


def test_missing_and_unknown_tokens_are_401(client):
    r = client.get("/api/v1/experts")
    assert r.status_code == 401 and "bearer" in r.json()["detail"].lower()
    r = client.get("/api/v1/experts", headers=auth("el_not-a-token"))
    assert r.status_code == 401


def test_trainer_cannot_manage(client, session):
    e = f.expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    assert client.post("/api/v1/experts", headers=trainer, json={"name": "x", "email": "x@y.org"}).status_code == 403
    assert client.post("/api/v1/projects", headers=trainer, json={"name": "p", "task_type": "sft"}).status_code == 403
    p = f.project(session, "sft")
    assert client.post(f"/api/v1/projects/{p['id']}/items", headers=trainer, json=[{"prompt": "x"}]).status_code == 403
    r = client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "sft"}, headers=trainer)
    assert r.status_code == 403
    assert client.get("/api/v1/experts", headers=trainer).status_code == 403


def test_trainer_sees_only_own_records(client, session):
    a, b = f.expert(session), f.expert(session)
    ta = auth(token(session, "trainer", a["id"]))
    assert client.get(f"/api/v1/experts/{a['id']}", headers=ta).status_code == 200
    assert client.get(f"/api/v1/experts/{b['id']}", headers=ta).status_code == 403
    assert client.get(f"/api/v1/experts/{b['id']}/earnings", headers=ta).status_code == 403

    p = f.project(session, "label", overlap=2)
    f.items(session, p["id"], "label", 1, gold="yes")
    tb = auth(token(session, "trainer", b["id"]))
    lease_b = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=tb).json()
    # a cannot see, heartbeat or submit b's assignment
    aid = lease_b["assignment_id"]
    assert client.get(f"/api/v1/assignments/{aid}", headers=ta).status_code == 404
    assert client.post(f"/api/v1/assignments/{aid}/submit", headers=ta,
                       json={"response": {"label": "yes"}}).status_code == 404
    assert client.post(f"/api/v1/assignments/{aid}/heartbeat", headers=ta).status_code == 404
    mine = client.get("/api/v1/assignments", headers=ta).json()
    assert mine == []
    # a staff member cannot submit on b's behalf either
    manager = auth(token(session, "manager"))
    assert client.post(f"/api/v1/assignments/{aid}/submit", headers=manager,
                       json={"response": {"label": "yes"}}).status_code == 403


def test_gold_never_appears_in_anything_a_trainer_reads(client, session):
    e = f.expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    admin = auth(token(session, "admin"))
    p = f.project(session, "label")
    f.items(session, p["id"], "label", 2, gold="unsure", metadata={"secret_hint": "GOLD-IS-UNSURE"})
    bodies = []
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer)
    bodies.append(lease.text)
    aid = lease.json()["assignment_id"]
    bodies.append(client.get(f"/api/v1/assignments/{aid}", headers=trainer).text)
    bodies.append(client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer,
                              json={"response": {"label": "yes"}}).text)
    bodies.append(client.get("/api/v1/assignments", headers=trainer).text)
    bodies.append(client.get(f"/api/v1/projects/{p['id']}", headers=trainer).text)
    bodies.append(client.get("/api/v1/projects", headers=trainer).text)
    for body in bodies:
        assert '"gold"' not in body and "GOLD-IS-UNSURE" not in body
    # staff do see gold
    staff_view = client.get(f"/api/v1/assignments/{aid}", headers=admin).json()
    assert staff_view["item"]["gold"] == {"label": "unsure"}


def test_token_roles_are_enforced(client, session):
    e = f.expert(session)
    manager = auth(token(session, "manager"))
    r = client.post("/api/v1/tokens", headers=manager, json={"role": "admin"})
    assert r.status_code == 403
    r = client.post("/api/v1/tokens", headers=manager, json={"role": "trainer"})
    assert r.status_code == 422 and "expert" in r.json()["detail"]
    r = client.post("/api/v1/tokens", headers=manager, json={"role": "trainer", "expert_id": e["id"]})
    assert r.status_code == 201
    new = auth(r.json()["token"])
    assert client.get("/api/v1/me", headers=new).json() == {"role": "trainer", "expert_id": e["id"]}
