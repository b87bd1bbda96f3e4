"""Invitations over the API and the Python client: managers and admins make, list and revoke
them with the console's rules (roles they may grant, bad fields named, a revoked link dead)."""

from __future__ import annotations

from expertloop.client import ApiError, Client
from expertloop.services import accounts
from tests.factories import auth, expert, token


def test_invitations_are_made_listed_and_revoked_over_the_api(client, session):
    manager = auth(token(session, "manager"))
    body = {"name": "Mira Ortiz", "email": "Mira@Example.org", "role": "trainer", "degree": "phd",
            "domains": {"history": 4}, "languages": ["en"], "hourly_rate_usd": "90.00", "country": "ES"}
    r = client.post("/api/v1/invitations", headers=manager, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "pending" and made["email"] == "mira@example.org"
    assert made["path"] == f"/join/{made['secret']}"
    assert accounts.invitation(session, made["secret"])["profile"]["name"] == "Mira Ortiz"

    r = client.post("/api/v1/invitations", headers=manager, json={**body, "email": "x@example.org",
                                                                   "hourly_rate_usd": "lots"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "hourly_rate_usd"
    r = client.post("/api/v1/invitations", headers=manager, json={**body, "email": "y@example.org", "role": "admin"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "role"
    existing = expert(session)
    r = client.post("/api/v1/invitations", headers=manager, json={**body, "email": existing["email"]})
    assert r.status_code == 409                                    # that expert exists already
    listed = client.get("/api/v1/invitations", headers=manager).json()
    assert [i["id"] for i in listed][:1] == [made["id"]] and "secret" not in listed[0]

    trainer = auth(token(session, "trainer", expert(session)["id"]))
    assert client.get("/api/v1/invitations", headers=trainer).status_code == 403
    assert client.post("/api/v1/invitations", headers=trainer, json=body).status_code == 403
    assert client.delete(f"/api/v1/invitations/{made['id']}", headers=trainer).status_code == 403

    r = client.delete(f"/api/v1/invitations/{made['id']}", headers=manager)
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert client.get(f"/join/{made['secret']}").status_code == 404           # the link is dead
    assert client.delete("/api/v1/invitations/999999", headers=manager).status_code == 404


def test_the_client_invites_lists_and_revokes(client, session):
    admin = Client(token=token(session, "admin"), http=client)
    made = admin.invite("Rita Reviewer", "rita@example.org", role="reviewer", degree="master",
                        domains={"law": 3}, languages=["en"], hourly_rate_usd="80.00", country="GB", expires_hours=24)
    assert made["role"] == "reviewer" and made["secret"]
    assert [i["email"] for i in admin.invitations()] == ["rita@example.org"]
    assert admin.revoke_invitation(made["id"])["state"] == "expired"
    try:
        admin.invite("Rita Again", "bad-email", role="trainer")
    except ApiError as exc:
        assert exc.status == 422
    else:
        raise AssertionError("a bad email was accepted")
