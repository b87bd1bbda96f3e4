"""Payroll, assigned reviews and disputes through the HTTP API."""

from __future__ import annotations

import csv
import io

from tests.factories import auth, expert, items, project, token


def test_payroll_over_http_with_strict_money(client, session):
    admin = auth(token(session, "admin"))
    p = project(session, "label", hourly_rate_usd="60.00")
    items(session, p["id"], "label", 1)
    e = expert(session, name="=Mallory")
    trainer = auth(token(session, "trainer", e["id"]))
    r = client.post("/api/v1/pay-periods", headers=admin,
                    json={"name": "all", "starts_on": "2000-01-01", "ends_on": "2000-12-31"})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/pay-periods", headers=admin, json={"name": "x", "starts_on": "2001-02-30",
                                                                "ends_on": "2001-03-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "starts_on"
    from datetime import UTC, datetime
    today = datetime.now(UTC).date().isoformat()
    period = client.post("/api/v1/pay-periods", headers=admin,
                         json={"name": "now", "starts_on": today, "ends_on": today}).json()
    for body, loc in (({"kind": "bonus", "amount_usd": "12,50", "reason": "x"}, "amount_usd"),
                      ({"kind": "bonus", "amount_usd": 12.5, "reason": "x"}, "amount_usd"),
                      ({"kind": "bonus", "amount_usd": "12.50", "reason": "x", "locale": "12"}, "locale"),
                      ({"kind": "tip", "amount_usd": "1.00", "reason": "x"}, "kind"),
                      ({"kind": "bonus", "amount_usd": "1.00"}, "reason")):
        r = client.post(f"/api/v1/experts/{e['id']}/pay-adjustments", headers=admin, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == loc, (body, r.text)
    r = client.post(f"/api/v1/experts/{e['id']}/pay-adjustments", headers=admin,
                    json={"kind": "bonus", "amount_usd": "1.234,56", "reason": "Annual", "locale": "de-DE"})
    assert r.status_code == 201 and r.json()["amount_usd"] == "1234.56"
    r = client.post(f"/api/v1/experts/{e['id']}/pay-adjustments", headers=trainer,
                    json={"kind": "bonus", "amount_usd": "1.00", "reason": "me"})
    assert r.status_code == 403
    r = client.get(f"/api/v1/pay-periods/{period['id']}/payroll", params={"format": "csv"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["name"], row["bonuses_usd"], row["total_usd"]) for row in rows] == [
        ("'=Mallory", "1234.56", "1234.56")]   # a formula-looking name is neutralised
    assert client.get(f"/api/v1/pay-periods/{period['id']}/payroll", headers=trainer).status_code == 403
    mine = client.get(f"/api/v1/experts/{e['id']}/statements/{period['id']}", headers=trainer)
    assert mine.status_code == 200 and mine.json()["lines"][0]["reason"] == "Annual"
    assert mine.json()["hourly_rate_usd"] == "120.00"
    r = client.get(f"/api/v1/experts/{e['id']}/statements/{period['id']}", params={"format": "csv"}, headers=trainer)
    assert r.status_code == 200 and r.text.splitlines()[-1].split(",")[-2] == "1234.56"


def test_assigned_reviews_over_http(client, session):
    admin = auth(token(session, "admin"))
    p = project(session, "label", review_sampling={"rate": 1.0, "level2_rate": 0.0})
    items(session, p["id"], "label", 2)
    t = expert(session, name="Tom")
    rv = expert(session, name="Rita")
    trainer = auth(token(session, "trainer", t["id"]))
    reviewer = auth(token(session, "reviewer", rv["id"]))
    assert client.post("/api/v1/reviews/next", headers=reviewer).status_code == 204
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                json={"response": {"label": "yes"}})
    assert client.get("/api/v1/reviews/mine", headers=reviewer).json()["waiting"] == 1
    # Self-selection is refused in a sampled project: the list leaves it out, the verdict is refused;
    # staff still see it, with the trainer's name.
    assert client.get("/api/v1/reviews/queue", headers=reviewer).json() == []
    queue = client.get("/api/v1/reviews/queue", headers=admin).json()
    assert queue[0]["expert_name"] == "Tom"
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/review", headers=reviewer,
                    json={"verdict": "accept"})
    assert r.status_code == 403 and "assigned" in r.json()["detail"]
    got = client.post("/api/v1/reviews/next", headers=reviewer)
    assert got.status_code == 200 and got.json()["expert_name"] == "Tom"
    r = client.post(f"/api/v1/review-tasks/{got.json()['review_task_id']}/verdict", headers=reviewer,
                    json={"verdict": "reject"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "feedback"
    r = client.post(f"/api/v1/review-tasks/{got.json()['review_task_id']}/verdict", headers=reviewer,
                    json={"verdict": "accept", "feedback": "ok"})
    assert r.status_code == 200 and r.json()["outcome"] == "accepted"
    r = client.post(f"/api/v1/review-tasks/{got.json()['review_task_id']}/verdict", headers=reviewer,
                    json={"verdict": "accept"})
    assert r.status_code == 409
    assert client.post("/api/v1/reviews/next", headers=trainer).status_code == 403
    assert client.get("/api/v1/reviews/mine", headers=admin).status_code == 200


def test_disputes_over_http(client, session):
    admin = auth(token(session, "admin"))
    p = project(session, "label")
    from expertloop.services.imports import import_items
    from tests.factories import ADMIN
    import_items(session, ADMIN, p["id"], [(1, {"external_id": "g", "text": "t", "gold": "no"})])
    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    assert "gold" not in lease["item"]
    client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                json={"response": {"label": "yes"}})
    st = client.get(f"/api/v1/projects/{p['id']}/standing", headers=trainer)
    assert st.status_code == 200 and st.json()["gold"]["items"][0]["missed"] is True
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/dispute", headers=trainer, json={})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "reason"
    d = client.post(f"/api/v1/assignments/{lease['assignment_id']}/dispute", headers=trainer,
                    json={"reason": "It is a yes."})
    assert d.status_code == 201, d.text
    assert client.get("/api/v1/disputes", headers=trainer).status_code == 403
    assert [x["id"] for x in client.get("/api/v1/disputes", headers=admin).json()] == [d.json()["id"]]
    r = client.post(f"/api/v1/disputes/{d.json()['id']}/decide", headers=admin, json={"decision": "uphold",
                                                                                     "gold": "maybe"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"].startswith("gold")
    r = client.post(f"/api/v1/disputes/{d.json()['id']}/decide", headers=admin, json={"decision": "uphold",
                                                                                     "gold": "yes"})
    assert r.status_code == 200 and r.json()["rescored"] == [{"expert_id": e["id"], "gold_answered": 1,
                                                              "gold_accuracy": 1.0, "pause_lifted": False}]
    assert client.get(f"/api/v1/projects/{p['id']}/standing", headers=trainer).json()["gold"]["accuracy"] == 1.0
