"""AI help on the record, over the API against the test model server: suggestions made ahead by a
job (never in the request), exactly what each assignment showed, what the trainer did with it
(accepted, edited with its edit distance, discarded), and ``metadata.ai_assistance`` in every
exported record, loaded back with ``datasets``. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from expertloop.services import models
from tests.factories import auth, expert, run_jobs, staff_item, token


def _project(client, admin, task_type, options, items):
    r = client.post("/api/v1/projects", headers=admin, json={"name": f"AI {task_type}", "task_type": task_type,
                                                             "overlap": 1, "options": options})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=items)
    assert r.status_code == 201, r.text
    return pid


def _export(client, admin, pid, fmt, tmp_path, **params):
    import datasets

    r = client.get(f"/api/v1/projects/{pid}/export", params={"format": fmt, **params}, headers=admin)
    assert r.status_code == 200, r.text
    path = tmp_path / f"{pid}-{fmt}.jsonl"
    path.write_text(r.text)
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))


def test_options_name_a_kind_the_type_can_show(client, session):
    admin = auth(token(session, "admin"))
    for task_type, options, loc in [
            ("sft", {"ai_assistance": {"model": "m", "kind": "preselect"}}, "options.ai_assistance.kind"),
            ("label", {"labels": ["a", "b"], "ai_assistance": {"kind": "preselect"}}, "options.ai_assistance.model"),
            ("factcheck", {"ai_assistance": "m"}, "options.ai_assistance")]:
        r = client.post("/api/v1/projects", headers=admin, json={"name": "x", "task_type": task_type,
                                                                 "options": options})
        assert r.status_code == 422 and loc in r.text, (task_type, r.text)


def test_a_draft_shown_accepted_edited_discarded_and_exported(client, session, model_server, tmp_path):
    models.add_endpoint(session, None, "assist", model_server.base_url, "test-model")
    admin = auth(token(session, "admin"))
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    pid = _project(client, admin, "sft", {"ai_assistance": {"model": "assist", "kind": "draft"}},
                   [{"prompt": f"Explain thing {n}.", "external_id": f"s{n}"} for n in range(3)])
    model_server.reset()
    assert run_jobs(session) == 1                                        # one job made every suggestion
    assert len(model_server.requests) == 3
    r = client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=[{"prompt": "Late.", "external_id": "late"}])
    assert r.status_code == 201                                          # its suggestion is not made yet

    done = {}
    for _ in range(4):
        lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=trainer).json()
        ext, shown = staff_item(session, lease)["external_id"], lease["ai_suggestion"]
        if ext == "late":
            assert shown is None
            body = {"response": {"completion": "My own answer."}}
        else:
            draft = f"test-model answer 0: Explain thing {ext[1]}."
            assert shown == {"kind": "draft", "completion": draft}       # the text, never the model's name
            body = {"response": {"completion": {"s0": draft, "s1": draft + " Indeed!",
                                                "s2": "Something else."}[ext]}}
            if ext == "s2":
                body["ai_discarded"] = True
        r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer, json=body)
        assert r.status_code == 200, r.text
        done[ext] = lease["assignment_id"]
    r = client.post(f"/api/v1/assignments/{done['s0']}/submit", headers=trainer,
                    json={"response": {"completion": "x"}, "ai_discarded": "yes"})
    assert r.status_code == 422 and "ai_discarded" in r.text

    staff = client.get(f"/api/v1/assignments/{done['s1']}", headers=admin).json()["ai_assistance"]
    assert staff["model"] == "test-model" and staff["endpoint"] == "assist" and staff["shown_at"]
    assert staff["suggestion"] == {"completion": "test-model answer 0: Explain thing 1."}

    ds = _export(client, admin, pid, "sft", tmp_path)
    got = {row["metadata"]["item_external_id"]: row["metadata"]["ai_assistance"] for row in ds}
    assert got["late"] is None
    assert got["s0"]["action"] == "accepted" and got["s0"]["edit_distance"] == 0
    assert got["s1"]["action"] == "edited" and got["s1"]["edit_distance"] == len(" Indeed!")
    assert got["s1"]["distance_unit"] == "characters"
    assert got["s2"]["action"] == "discarded"
    assert json.loads(got["s0"]["suggestion"]) == {"completion": "test-model answer 0: Explain thing 0."}
    assert got["s0"]["model"] == "test-model" and got["s0"]["kind"] == "draft" and got["s0"]["shown_at"]
    raw = _export(client, admin, pid, "raw", tmp_path)
    assert all("ai_assistance" in row["metadata"] for row in raw)


def test_preselected_label_and_verdicts(client, session, model_server, tmp_path):
    models.add_endpoint(session, None, "assist", model_server.base_url, "test-model")
    admin = auth(token(session, "admin"))
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    label = _project(client, admin, "label", {"labels": ["yes", "no"],
                                              "ai_assistance": {"model": "assist", "kind": "preselect"}},
                     [{"text": "Is water wet?"}])
    marker = '[[reply-json:{"verdicts": ["supported", "refuted"]}]]'
    fact = _project(client, admin, "factcheck", {"ai_assistance": {"model": "assist", "kind": "preselect"}},
                    [{"prompt": f"Tell me. {marker}", "response": "Paris is in France. The sun is cold.",
                      "claims": ["Paris is in France.", "The sun is cold."]}])
    run_jobs(session)

    lease = client.post(f"/api/v1/projects/{label}/assignments/next", headers=trainer).json()
    assert lease["ai_suggestion"] == {"kind": "preselect", "label": "yes"}
    client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer,
                json={"response": {"label": "no"}})
    lease = client.post(f"/api/v1/projects/{fact}/assignments/next", headers=trainer).json()
    assert lease["ai_suggestion"] == {"kind": "preselect", "verdicts": ["supported", "refuted"]}
    client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=trainer, json={"response": {
        "claims": [{"verdict": "supported", "evidence": []}, {"verdict": "refuted", "evidence": []}]}})

    [row] = _export(client, admin, label, "label", tmp_path)
    ai = row["metadata"]["ai_assistance"]
    assert (ai["action"], ai["edit_distance"], ai["distance_unit"]) == ("edited", 1, "answers")
    [row] = _export(client, admin, label, "label", tmp_path, consensus="true")
    assert row["metadata"]["ai_assistance"] == {"judgments": 1, "assisted": 1, "accepted": 0, "edited": 1,
                                                "discarded": 0}
    [row] = _export(client, admin, fact, "factcheck", tmp_path)
    assert row["metadata"]["ai_assistance"]["action"] == "accepted"


def test_an_item_the_model_refuses_gets_no_suggestion_and_blocks_no_other(client, session, model_server):
    models.add_endpoint(session, None, "assist", model_server.base_url, "test-model")
    admin = auth(token(session, "admin"))
    pid = _project(client, admin, "sft", {"ai_assistance": {"model": "assist", "kind": "draft"}},
                   [{"prompt": "Refused [[error:400]]", "external_id": "bad"},
                    {"prompt": "Fine.", "external_id": "ok"}])
    run_jobs(session)
    jobs = client.get("/api/v1/jobs", params={"project_id": pid}, headers=admin).json()
    [job] = [j for j in jobs if j["kind"] == "ai_suggestions"]
    assert job["state"] == "done" and job["result"] == {"made": 1, "unusable": 1}
