"""Several answers scored on named attributes through the API: located 422s, the quality
report's units, the regression records and the pairs derived from the scores."""

from __future__ import annotations

import json

from tests.factories import auth, expert, run_jobs, token

CRITERIA = [{"name": "helpfulness", "scale": [0, 4]}, {"name": "verbosity", "scale": [0, 4]}]


def test_a_multi_answer_rubric_through_the_api(client, session):
    admin = auth(token(session, "admin"))
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    p = client.post("/api/v1/projects", headers=admin, json={"name": "HS", "task_type": "rubric",
                                                             "options": {"criteria": CRITERIA}}).json()
    r = client.post(f"/api/v1/projects/{p['id']}/items", headers=admin,
                    json=[{"prompt": "q", "response": "a", "responses": [{"text": "a"}, {"text": "b"}]}])
    assert r.status_code == 422 and "exactly one of" in r.text
    item = {"external_id": "hs", "prompt": "Why is the sky blue?",
            "responses": [{"text": "Rayleigh scattering.", "model": "m1"}, {"text": "Because.", "model": "m2"}]}
    assert client.post(f"/api/v1/projects/{p['id']}/items", headers=admin, json=[item]).status_code == 201
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    assert [r["index"] for r in lease["item"]["responses"]] == [0, 1] and "m1" not in json.dumps(lease)
    submit = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    r = client.post(submit, headers=trainer, json={"response": {"scores": [{"helpfulness": 4, "verbosity": 2},
                                                                           {"helpfulness": 5}]}})
    assert r.status_code == 422 and "response.scores[1].helpfulness" in r.text and "scores[1].verbosity" in r.text
    r = client.post(submit, headers=trainer, json={"response": {"scores": {"helpfulness": 4, "verbosity": 2}}})
    assert r.status_code == 422 and "list of 2" in r.text
    r = client.post(submit, headers=trainer, json={"response": {"scores": [{"helpfulness": 4, "verbosity": 2},
                                                                           {"helpfulness": 1, "verbosity": 0}]}})
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "rubric"}, headers=admin)
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [(x["response"], x["scores"]["helpfulness"]) for x in rows] == [("Rayleigh scattering.", 4), ("Because.", 1)]
    r = client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "preference"}, headers=admin)
    [pair] = [json.loads(line) for line in r.text.splitlines()]
    assert pair["chosen"][0]["content"] == "Rayleigh scattering." and pair["margin"] == 2.5
    assert client.post(f"/api/v1/projects/{p['id']}/quality/refresh", headers=admin).status_code == 202
    run_jobs(session)  # the report is a snapshot a job computes
    report = client.get(f"/api/v1/projects/{p['id']}/quality", headers=admin).json()
    units = report["criteria"]["helpfulness"]["consensus"]
    assert sorted((u["response"], u["score"]) for u in units) == [(0, 4.0), (1, 1.0)]
