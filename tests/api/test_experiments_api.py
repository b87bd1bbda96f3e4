"""Experiments over HTTP and on the project page: staff start one, trainers cannot, bad
definitions are a 422 naming the field, the report and the page show arms, tests and power."""

from __future__ import annotations

import re

from tests.factories import auth, expert, item_for, token

SPEC = {"name": "Guidelines v2 against v1", "unit": "item", "arms": [
    {"name": "v1", "kind": "guidelines", "config": {"guidelines": "Old rules.", "version": 1}},
    {"name": "v2", "kind": "guidelines", "config": {"guidelines": "New rules.", "version": 2}}]}


def test_experiment_over_the_api_and_on_the_project_page(client, session):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "Labels", "task_type": "label", "options": {"labels": ["yes", "no"]}, "overlap": 2})
    pid = r.json()["id"]
    assert client.post(f"/api/v1/projects/{pid}/items", headers=admin,
                       json=[item_for("label", i) for i in range(8)]).status_code == 201
    assert client.get(f"/api/v1/projects/{pid}/experiment", headers=admin).status_code == 404
    bad = client.post(f"/api/v1/projects/{pid}/experiments", headers=admin,
                      json={**SPEC, "arms": [{**SPEC["arms"][0], "kind": "magic"}, SPEC["arms"][1]]})
    assert bad.status_code == 422 and "arms[0].kind" in bad.text
    trainers = [auth(token(session, "trainer", expert(session)["id"])) for _ in range(2)]
    assert client.post(f"/api/v1/projects/{pid}/experiments", headers=trainers[0], json=SPEC).status_code == 403
    r = client.post(f"/api/v1/projects/{pid}/experiments", headers=admin, json=SPEC)
    assert r.status_code == 201, r.text
    assert client.post(f"/api/v1/projects/{pid}/experiments", headers=admin, json=SPEC).status_code == 409
    for t in trainers:
        while (lease := client.post(f"/api/v1/projects/{pid}/assignments/next", headers=t)).status_code == 200:
            body = lease.json()
            if not body:
                break
            assert body["guidelines"] in ("Old rules.", "New rules.")
            client.post(f"/api/v1/assignments/{body['assignment_id']}/submit", headers=t,
                        json={"response": {"label": "yes"}})
    r = client.get(f"/api/v1/projects/{pid}/experiment", headers=admin, params={"fresh": "true"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert [a["arm"] for a in report["arms"]] == ["v1", "v2"]
    assert sum(a["judgments"] for a in report["arms"]) == 16
    assert {t["outcome"] for t in report["tests"]} == {"agreement_with_consensus", "gold_accuracy",
                                                      "review_acceptance", "seconds_per_task", "cost_per_item_usd"}
    assert client.get(f"/api/v1/projects/{pid}/experiment", headers=trainers[0]).status_code == 403
    page = client.get("/signin?tab=token").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/signin/token", data={"token": token(session, "manager"), "csrf_token": csrf})
    html = client.get(f"/manage/projects/{pid}").text
    assert 'id="experiment"' in html and 'data-arm="v2"' in html and "more judgments per arm" in html
    assert client.post(f"/api/v1/projects/{pid}/experiment/stop", headers=admin).json()["status"] == "stopped"
