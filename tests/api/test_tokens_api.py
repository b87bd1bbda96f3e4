"""Tokens are listed without secrets and revoked: the next request with a revoked token is
refused, through the API and in a browser session signed in with it."""

from __future__ import annotations

import re

from tests.factories import auth, expert, token


def test_list_shows_no_secrets_and_managers_see_only_what_they_may_issue(client, session):
    admin_tok = token(session, "admin")
    manager_tok = token(session, "manager")
    e = expert(session)
    r = client.post("/api/v1/tokens", headers=auth(admin_tok), json={"role": "trainer", "expert_id": e["id"],
                                                                     "label": "laptop"})
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["token"].startswith("el_") and issued["id"] and issued["label"] == "laptop"

    rows = client.get("/api/v1/tokens", headers=auth(admin_tok)).json()
    assert {"admin", "manager", "trainer"} <= {r["role"] for r in rows}
    assert all(set(r) == {"id", "role", "expert_id", "label", "created_at", "revoked_at"} for r in rows)
    assert issued["token"] not in client.get("/api/v1/tokens", headers=auth(admin_tok)).text
    managers_view = client.get("/api/v1/tokens", headers=auth(manager_tok)).json()
    assert {r["role"] for r in managers_view} <= {"reviewer", "trainer"}
    assert client.get("/api/v1/tokens", headers=auth(issued["token"])).status_code == 403


def test_revocation_takes_effect_on_the_next_request(client, session):
    admin = auth(token(session, "admin"))
    manager_tok = token(session, "manager")
    e = expert(session)
    issued = client.post("/api/v1/tokens", headers=auth(manager_tok),
                         json={"role": "trainer", "expert_id": e["id"]}).json()
    trainer = auth(issued["token"])
    assert client.get("/api/v1/me", headers=trainer).status_code == 200

    r = client.delete(f"/api/v1/tokens/{issued['id']}", headers=auth(manager_tok))
    assert r.status_code == 200, r.text
    revoked_at = r.json()["revoked_at"]
    assert revoked_at is not None
    r = client.get("/api/v1/me", headers=trainer)
    assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked token"
    again = client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin)  # revoking twice changes nothing
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked_at


def test_managers_may_not_revoke_staff_tokens_and_unknown_ids_are_404(client, session):
    admin_tok = token(session, "admin")
    manager = auth(token(session, "manager"))
    admin_id = next(r["id"] for r in client.get("/api/v1/tokens", headers=auth(admin_tok)).json()
                    if r["role"] == "admin")
    r = client.delete(f"/api/v1/tokens/{admin_id}", headers=manager)
    assert r.status_code == 403, r.text
    assert client.get("/api/v1/me", headers=auth(admin_tok)).status_code == 200
    assert client.delete("/api/v1/tokens/2147483647", headers=auth(admin_tok)).status_code == 404
    assert client.delete("/api/v1/tokens/2147483648", headers=auth(admin_tok)).status_code == 422


def test_a_browser_session_signed_in_with_a_revoked_token_is_refused(client, session):
    admin = auth(token(session, "admin"))
    manager = client.post("/api/v1/tokens", headers=admin, json={"role": "manager"}).json()
    page = client.get("/signin?tab=token")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/signin/token", data={"token": manager["token"], "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert client.get("/manage", follow_redirects=False).status_code == 200

    assert client.delete(f"/api/v1/tokens/{manager['id']}", headers=admin).status_code == 200
    r = client.get("/manage", follow_redirects=False)
    assert r.status_code in (302, 303, 401), r.status_code
