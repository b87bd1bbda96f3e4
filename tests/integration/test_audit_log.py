"""The audit log: staff actions are appended in the same unit of work as the change, staff read
it filtered, trainers may not, and the database itself refuses to change an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from expertloop.domain.errors import Conflict, PermissionDenied
from expertloop.domain.policies import Actor, Role
from expertloop.services import audit, consent, oversight, tokens
from expertloop.storage.migrate import upgrade
from tests.factories import ADMIN, auth, expert, project, token, trainer_actor


def test_staff_actions_are_recorded_with_who_and_what(session):
    p = project(session, "label", terms="Version one.")
    e = expert(session)
    consent.publish_terms(session, ADMIN, p["id"], "Version two.")
    oversight.set_status(session, ADMIN, e["id"], "paused")
    issued = tokens.create_token(session, "trainer", e["id"], "laptop", actor=ADMIN)
    tokens.revoke_token(session, issued["id"], actor=ADMIN)

    entries = audit.list_entries(session, ADMIN)
    actions = [x["action"] for x in entries]
    assert actions[:4] == ["token.revoked", "token.issued", "expert.status_changed", "terms.published"]
    assert "project.created" in actions
    status = entries[2]
    assert status["actor_role"] == "operator" and status["detail"] == {"from": "active", "to": "paused"}
    assert status["target"] == f"expert {e['id']}"
    published = audit.list_entries(session, ADMIN, project_id=p["id"], action="terms.published")
    assert [x["target"] for x in published] == ["terms version 2"]
    assert {x["action"] for x in audit.list_entries(session, ADMIN, action="token.")} == {"token.issued",
                                                                                          "token.revoked"}
    assert issued["token"] not in str(entries)


def test_a_refused_action_leaves_no_entry(session):
    p = project(session, "label", terms="Version one.")
    before = len(audit.list_entries(session, ADMIN, project_id=p["id"]))
    with pytest.raises(Conflict):
        consent.publish_terms(session, ADMIN, p["id"], "Version one.")  # unchanged terms: refused
    assert len(audit.list_entries(session, ADMIN, project_id=p["id"])) == before


def test_only_staff_read_the_log(session):
    e = expert(session)
    with pytest.raises(PermissionDenied):
        audit.list_entries(session, trainer_actor(e))
    with pytest.raises(PermissionDenied):
        audit.list_entries(session, Actor(role=Role.reviewer, expert_id=e["id"]))


def test_the_api_filters_pages_and_refuses_trainers(client, session):
    manager = auth(token(session, "manager"))
    for n in range(3):
        project(session, "label", name=f"Audited {n}")
    r = client.get("/api/v1/audit", params={"action": "project.created", "limit": 2}, headers=manager)
    assert r.status_code == 200, r.text
    first = r.json()
    assert len(first) == 2 and all(x["action"] == "project.created" for x in first)
    issued = client.post("/api/v1/tokens", headers=manager,
                         json={"role": "trainer", "expert_id": expert(session)["id"]})
    by_api = client.get("/api/v1/audit", params={"action": "token.issued", "limit": 1}, headers=manager).json()[0]
    assert by_api["actor_role"] == "manager" and by_api["actor_token_id"]
    assert by_api["target"] == f"token {issued.json()['id']}"
    older = client.get("/api/v1/audit", params={"action": "project.created", "before": first[-1]["id"]},
                       headers=manager).json()
    assert older and all(x["id"] < first[-1]["id"] for x in older)
    assert client.get("/api/v1/audit", params={"limit": 501}, headers=manager).status_code == 422
    assert client.get("/api/v1/audit", params={"action": "DROP TABLE"}, headers=manager).status_code == 422
    e = expert(session)
    assert client.get("/api/v1/audit", headers=auth(token(session, "trainer", e["id"]))).status_code == 403


def test_the_database_refuses_to_change_or_delete_an_entry(fresh_url):
    engine = create_engine(fresh_url)
    try:
        upgrade(engine)
        factory = sessionmaker(bind=engine, autobegin=False)
        with factory() as s:
            project(s, "label", name="Kept")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
        for statement in ("UPDATE audit_log SET action = 'nothing.happened'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["project.created"]
    finally:
        engine.dispose()
