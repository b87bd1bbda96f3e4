"""Step labels and agent trajectories through the API: located 422s, then the export."""

from __future__ import annotations

import json

from tests.factories import auth, expert, item_for, token


def test_steps_and_trajectory_through_the_api(client, session):
    admin = auth(token(session, "admin"))
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    r = client.post("/api/v1/projects", headers=admin, json={"name": "Steps", "task_type": "steps", "overlap": 1,
                                                             "options": {"stop_at_first_negative": "always"}})
    assert r.status_code == 422 and "options.stop_at_first_negative" in r.text
    steps = client.post("/api/v1/projects", headers=admin, json={"name": "Steps", "task_type": "steps"}).json()
    r = client.post(f"/api/v1/projects/{steps['id']}/items", headers=admin,
                    json=[item_for("steps", 0), {"problem": "p", "steps": ["ok", ""]}])
    assert r.status_code == 422 and "steps[1]" in r.text
    assert client.post(f"/api/v1/projects/{steps['id']}/items", headers=admin,
                       json=[item_for("steps", 0, gold=[1, -1])]).status_code == 201
    lease = client.post(f"/api/v1/projects/{steps['id']}/assignments/next", headers=trainer).json()
    assert "gold" not in json.dumps(lease)
    submit = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    r = client.post(submit, headers=trainer, json={"response": {"ratings": [1, 2], "correction": "x"}})
    assert r.status_code == 422 and "response.ratings[1]" in r.text and "response.correction" in r.text
    r = client.post(submit, headers=trainer, json={"response": {"ratings": [1, -1], "correction": "2 + 0 = 2."}})
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/projects/{steps['id']}/export", params={"format": "stepwise"}, headers=admin)
    [record] = [json.loads(line) for line in r.text.splitlines()]
    assert record["labels"] == [True, False] and record["metadata"]["ratings"] == [1, -1, None]
    r = client.get(f"/api/v1/projects/{steps['id']}/export", params={"format": "trajectory"}, headers=admin)
    assert r.status_code == 422 and "stepwise" in r.text

    traj = client.post("/api/v1/projects", headers=admin, json={"name": "Runs", "task_type": "trajectory"}).json()
    assert traj["options"]["failure_modes"][0] == "wrong tool"
    r = client.post(f"/api/v1/projects/{traj['id']}/items", headers=admin,
                    json=[{"messages": [{"role": "user", "content": "Go"},
                                        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function"}]}]}])
    assert r.status_code == 422 and "messages[1].tool_calls[0].function" in r.text
    assert client.post(f"/api/v1/projects/{traj['id']}/items", headers=admin,
                       json=[item_for("trajectory", 0)]).status_code == 201
    lease = client.post(f"/api/v1/projects/{traj['id']}/assignments/next", headers=trainer).json()
    assert lease["item"]["steps"][0]["kind"] == "tool_call"
    submit = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    r = client.post(submit, headers=trainer, json={"response": {"steps": ["correct", "correct", "correct"],
                                                                "verdict": "success"}})
    assert r.status_code == 422 and "response.steps[1]" in r.text
    r = client.post(submit, headers=trainer, json={"response": {"steps": ["correct", None, "correct"],
                                                                "verdict": "success"}})
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/projects/{traj['id']}/export", params={"format": "trajectory"}, headers=admin)
    [record] = [json.loads(line) for line in r.text.splitlines()]
    assert record["verdict"] == "success" and record["steps"][0]["label"] == "correct"
