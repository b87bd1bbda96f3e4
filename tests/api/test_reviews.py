"""Reviews through the API: accept, reject (slot reopens, leaves exports), edit (exports the edit)."""

from __future__ import annotations

import json

from tests.factories import VALID_RESPONSE, auth, expert, items, project, token


def _submitted(client, session, pid: int, trainer: dict, response: dict) -> int:
    lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer)
    assert lease.status_code == 200, lease.text
    aid = lease.json()["assignment_id"]
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": response})
    assert r.status_code == 200, r.text
    return aid


def _export(client, headers, pid: int, fmt: str) -> list[dict]:
    r = client.get(f"/api/v1/projects/{pid}/export", params={"format": fmt}, headers=headers)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


def test_review_queue_accept_reject_edit(client, session):
    admin = auth(token(session, "admin"))
    p = project(session, "label", overlap=1)
    items(session, p["id"], "label", 3)
    t1 = expert(session)
    reviewer_expert = expert(session)
    trainer = auth(token(session, "trainer", t1["id"]))
    reviewer = auth(token(session, "reviewer", reviewer_expert["id"]))

    a1 = _submitted(client, session, p["id"], trainer, {"label": "yes"})
    a2 = _submitted(client, session, p["id"], trainer, {"label": "no"})
    a3 = _submitted(client, session, p["id"], trainer, {"label": "unsure"})

    r = client.get("/api/v1/reviews/queue", params={"project_id": p["id"]}, headers=reviewer)
    assert r.status_code == 200, r.text
    assert [row["assignment_id"] for row in r.json()] == [a1, a2, a3]  # oldest first

    # trainers may not review; rejecting needs feedback
    r = client.post(f"/api/v1/assignments/{a1}/review", headers=trainer, json={"verdict": "accept"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/assignments/{a2}/review", headers=reviewer, json={"verdict": "reject"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "feedback"

    r = client.post(f"/api/v1/assignments/{a1}/review", headers=reviewer,
                    json={"verdict": "accept", "feedback": "Good"})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    before = client.get(f"/api/v1/projects/{p['id']}", headers=admin).json()["progress"]["items_complete"]
    r = client.post(f"/api/v1/assignments/{a2}/review", headers=reviewer,
                    json={"verdict": "reject", "feedback": "Read the text again."})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    after = client.get(f"/api/v1/projects/{p['id']}", headers=admin).json()["progress"]["items_complete"]
    assert after == before - 1  # the rejected item's slot reopened
    r = client.post(f"/api/v1/assignments/{a3}/review", headers=reviewer,
                    json={"verdict": "edit", "feedback": "It is a yes.", "response": {"label": "yes"}})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["response"] == {"label": "yes"}
    assert r.json()["original_response"] == {"label": "unsure"}

    # a second verdict conflicts; an invalid edit is refused with the field named
    r = client.post(f"/api/v1/assignments/{a1}/review", headers=reviewer, json={"verdict": "reject", "feedback": "x"})
    assert r.status_code == 409

    # the trainer sees outcome and feedback
    mine = {a["assignment_id"]: a for a in client.get("/api/v1/assignments", headers=trainer).json()}
    assert mine[a2]["state"] == "rejected" and mine[a2]["review_feedback"] == "Read the text again."

    # exports: accepted stays, rejected leaves, the edit replaces the original
    labels = sorted(rec["label"] for rec in _export(client, admin, p["id"], "label"))
    assert labels == ["yes", "yes"]
    assert client.get("/api/v1/reviews/queue", params={"project_id": p["id"]}, headers=reviewer).json() == []

    # the reopened slot is offered again, to someone else
    other = auth(token(session, "trainer", expert(session)["id"]))
    r = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=other)
    assert r.status_code == 200


def test_nobody_reviews_their_own_work(client, session):
    p = project(session, "sft")
    items(session, p["id"], "sft", 1)
    reviewer_expert = expert(session)
    as_trainer = auth(token(session, "trainer", reviewer_expert["id"]))
    as_reviewer = auth(token(session, "reviewer", reviewer_expert["id"]))
    aid = _submitted(client, session, p["id"], as_trainer, VALID_RESPONSE["sft"])
    assert client.get("/api/v1/reviews/queue", headers=as_reviewer).json() == []  # own work left out
    r = client.post(f"/api/v1/assignments/{aid}/review", headers=as_reviewer, json={"verdict": "accept"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/assignments/{aid}/review", headers=as_reviewer,
                    json={"verdict": "edit", "response": {"completion": ""}})
    assert r.status_code == 403


def test_edit_is_validated_against_the_project(client, session):
    admin = auth(token(session, "admin"))
    p = project(session, "rubric")
    items(session, p["id"], "rubric", 1)
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    aid = _submitted(client, session, p["id"], trainer, VALID_RESPONSE["rubric"])
    r = client.post(f"/api/v1/assignments/{aid}/review", headers=admin,
                    json={"verdict": "edit", "response": {"scores": {"accuracy": 9, "style": 1}}})
    assert r.status_code == 422 and "response.scores.accuracy" in r.text
    r = client.get(f"/api/v1/reviews/{aid}", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "submitted"  # nothing changed
    r = client.post(f"/api/v1/assignments/{aid}/review", headers=admin, json={"verdict": "maybe"})
    assert r.status_code == 422
