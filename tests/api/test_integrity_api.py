"""Over HTTP: the published signing key, signals sent with a submit (and refused when they
carry more than aggregates), the staff queue, decision and reply, the signed ZIP export and
the revocation list."""

from __future__ import annotations

import io
import json
import zipfile

from expertloop.services.passport import verify
from tests.factories import auth, expert, run_jobs, token

MODEL = ("Photosynthesis converts light energy into chemical energy stored in glucose, using carbon dioxide "
         "and water and releasing oxygen as a by-product in the chloroplasts of plant cells, mostly in leaves. "
         "The light reactions make ATP and NADPH; the Calvin cycle then fixes carbon into sugars.")


def test_integrity_over_http(client, session, tmp_path):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={"name": "Answers", "task_type": "sft", "overlap": 2})
    pid = r.json()["id"]
    assert client.post(f"/api/v1/projects/{pid}/items", headers=admin, json=[
        {"external_id": "p1", "prompt": "Explain photosynthesis.", "metadata": {"model_answer": MODEL}},
    ]).status_code == 201
    ana, bo = expert(session), expert(session)
    t_ana, t_bo = auth(token(session, "trainer", ana["id"])), auth(token(session, "trainer", bo["id"]))

    key = client.get("/api/v1/signing-key", headers=t_ana)
    assert key.status_code == 200 and key.json()["algorithm"] == "Ed25519"
    assert key.json()["fingerprint"].startswith("sha256:")

    lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=t_ana).json()
    url = f"/api/v1/assignments/{lease['assignment_id']}/submit"
    r = client.post(url, headers=t_ana, json={"response": {"completion": MODEL},
                                              "authenticity": {"completion": {"keystrokes": 3, "keys": "a,b,c"}}})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "authenticity.completion"
    r = client.post(url, headers=t_ana, json={"response": {"completion": MODEL},
                                              "authenticity": {"completion": {"pasted_chars": 2**40}}})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "authenticity.completion.pasted_chars"
    r = client.post(url, headers=t_ana, json={"response": {"completion": MODEL}, "authenticity": {
        "completion": {"pasted_chars": len(MODEL), "paste_events": 1, "paste_sizes": [len(MODEL)],
                       "final_chars": len(MODEL)}}})
    assert r.status_code == 200, r.text
    lease = client.post(f"/api/v1/projects/{pid}/assignments/next", headers=t_bo).json()
    own = "In my own words: " + "light drives the making of sugar from air and water, " * 5
    assert client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=t_bo, json={
        "response": {"completion": own},
        "authenticity": {"completion": {"typed_chars": len(own), "keystrokes": len(own) + 9,
                                        "final_chars": len(own)}}}).status_code == 200

    queue = client.get(f"/api/v1/projects/{pid}/authenticity", headers=admin)
    assert queue.status_code == 200
    [flag] = queue.json()
    assert {r["kind"] for r in flag["reasons"]} == {"unkeyed_text", "close_to_model_output"}
    assert client.get(f"/api/v1/projects/{pid}/authenticity", headers=t_ana).status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/authenticity?status=bogus", headers=admin).status_code == 422
    assert client.get(f"/api/v1/authenticity/{flag['id']}", headers=t_bo).status_code == 404
    assert client.get("/api/v1/authenticity/mine", headers=t_ana).json()[0]["id"] == flag["id"]
    assert client.get("/api/v1/authenticity/mine", headers=t_bo).json() == []

    r = client.post(f"/api/v1/authenticity/{flag['id']}/decision", headers=admin, json={"outcome": "maybe"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "outcome"
    assert client.post(f"/api/v1/authenticity/{flag['id']}/decision", headers=t_ana,
                       json={"outcome": "cleared"}).status_code == 403
    r = client.post(f"/api/v1/authenticity/{flag['id']}/decision", headers=admin,
                    json={"outcome": "upheld", "note": "Identical to the reference model answer."})
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    r = client.post(f"/api/v1/authenticity/{flag['id']}/reply", headers=t_ana, json={"reply": "x" * 4001})
    assert r.status_code == 422
    r = client.post(f"/api/v1/authenticity/{flag['id']}/reply", headers=t_ana,
                    json={"reply": "I am the author of that reference answer."})
    assert r.status_code == 200 and r.json()["status"] == "upheld"   # only staff reopen a decided flag

    # the signed export, written by a job as a ZIP under the data directory, verified offline
    client.app.state.settings.data_dir = tmp_path / "data"

    def signed(query: str, headers=admin):
        return client.post(f"/api/v1/projects/{pid}/export/signed?{query}", headers=headers)

    r = signed("format=sft")
    assert r.status_code == 202 and r.json()["state"] == "queued" and r.json()["signed"], r.text
    job = r.json()
    assert client.get(f"/api/v1/exports/{job['id']}/download", headers=admin).status_code == 409  # not yet
    run_jobs(session)
    done = client.get(f"/api/v1/exports/{job['id']}", headers=admin).json()
    assert done["state"] == "done" and done["file_type"] == "zip" and done["records"] == 2, done
    r = client.get(done["download_url"], headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    folder = tmp_path / "ds"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    result = verify(folder)
    assert result.ok and result.checked == ["data.jsonl"], result.problems
    assert result.manifest["signing"] == key.json()
    assert result.manifest["authenticity"]["human_authenticated"] == 1
    assert result.manifest["authenticity"]["outcomes"] == {"upheld": 1, "clear": 1}
    assert signed("format=sft", headers=t_ana).status_code == 403
    assert signed("format=sft&file_format=csv").status_code == 422
    assert signed("format=preference").status_code == 422    # refused at once, nothing queued
    hub = signed("format=sft&hub=true&test_share=0.5").json()
    run_jobs(session)
    r = client.get(f"/api/v1/exports/{hub['id']}/download", headers=admin)
    names = sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert "README.md" in names and "manifest.json" in names
    assert sorted(p.name for p in (tmp_path / "data" / "exports").iterdir()) == sorted(
        [done["file_name"], client.get(f"/api/v1/exports/{hub['id']}", headers=admin).json()["file_name"]])

    # a withdrawal: the revocation list names ana's judgment and verify says to drop it
    assert client.post(f"/api/v1/projects/{pid}/consent/withdraw", headers=admin,
                       json={"expert_id": ana["id"]}).status_code == 200
    rev = client.get(f"/api/v1/projects/{pid}/revocations", headers=admin)
    assert rev.status_code == 200 and rev.json()["count"] == 1
    assert client.get(f"/api/v1/projects/{pid}/revocations", headers=t_ana).status_code == 403
    (tmp_path / "rev.json").write_text(json.dumps(rev.json()))
    result = verify(folder, revocations=tmp_path / "rev.json")
    assert result.ok and [d["assignment_id"] for d in result.drop] == [flag["assignment_id"]]


def test_the_python_client_speaks_the_integrity_routes(client, session, tmp_path):
    from expertloop.client import Client

    manager = Client(token=token(session, "manager"), http=client)
    e = expert(session)
    trainer = Client(token=token(session, "trainer", e["id"]), http=client)
    project = manager.create_project({"name": "Client answers", "task_type": "sft", "overlap": 1})
    manager.import_items(project["id"], [{"external_id": "p1", "prompt": "Explain photosynthesis.",
                                          "metadata": {"model_answer": MODEL}}])
    task = trainer.next_task(project["id"])
    trainer.submit(task.assignment_id, {"completion": MODEL},
                   authenticity={"completion": {"pasted_chars": len(MODEL), "final_chars": len(MODEL)}})
    [flag] = manager.authenticity_queue(project["id"])
    assert trainer.my_flags()[0]["id"] == flag["id"]
    assert manager.decide_flag(flag["id"], "cleared", "Their own reference text.")["status"] == "cleared"
    assert trainer.reply_to_flag(flag["id"], "Thanks.")["expert_reply"] == "Thanks."
    client.app.state.settings.data_dir = tmp_path / "data"
    job = manager.request_signed_export(project["id"], "sft")
    run_jobs(session)                                   # the server's worker
    assert manager.export_job(job["id"])["state"] == "done"
    archive = manager.download_export(job["id"])
    zipfile.ZipFile(io.BytesIO(archive)).extractall(tmp_path / "ds")
    result = verify(tmp_path / "ds", trusted_fingerprint=manager.signing_key()["fingerprint"])
    assert result.ok and result.manifest["authenticity"]["human_authenticated"] == 1
    assert manager.revocations(project["id"])["count"] == 0
