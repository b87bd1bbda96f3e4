"""Exports over the API: streamed in chunks as JSONL or Parquet, and big ones as jobs with a
download link."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq

from expertloop.config import Settings
from expertloop.services import assignments as svc
from tests.factories import auth, expert, items, project, run_jobs, token, trainer_actor


def _judged(session, n: int = 3) -> int:
    p = project(session, "preference", overlap=1)
    items(session, p["id"], "preference", n)
    actor = trainer_actor(expert(session))
    while (lease := svc.lease_next(session, actor, p["id"])) is not None:
        svc.submit(session, actor, lease["assignment_id"], {"choice": 0, "strength": 2}, Settings())
    return p["id"]


def test_streamed_export_as_parquet_and_jsonl_in_few_chunks(client, session):
    pid = _judged(session)
    admin = auth(token(session, "admin"))
    r = client.get(f"/api/v1/projects/{pid}/export", headers=admin, params={"format": "preference", "file": "parquet"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == 3 and {"prompt", "chosen", "rejected", "metadata"} <= set(table.column_names)

    with client.stream("GET", f"/api/v1/projects/{pid}/export", headers=admin,
                       params={"format": "raw", "summary": "true"}) as r:
        chunks = list(r.iter_raw())
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["_summary"]["records"] == 3
    assert len(chunks) <= 2  # many records per chunk, not one chunk per record
    r = client.get(f"/api/v1/projects/{pid}/export", headers=admin, params={"format": "raw", "file": "csv"})
    assert r.status_code == 422


def test_export_job_writes_a_file_under_the_data_dir_and_serves_it(client, app, session, tmp_path):
    app.state.settings.data_dir = tmp_path / "data"
    pid = _judged(session, 4)
    admin = auth(token(session, "manager"))
    r = client.post(f"/api/v1/projects/{pid}/exports", headers=admin,
                    json={"format": "preference", "file": "parquet"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "queued" and job["download_url"] is None and job["file_type"] == "parquet"
    r = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin)
    assert r.status_code == 409 and "not done" in r.json()["detail"]

    run_jobs(session)
    done = client.get(f"/api/v1/exports/{job['id']}", headers=admin).json()
    assert done["state"] == "done" and done["records"] == 4, done
    assert done["download_url"] == f"/api/v1/exports/{job['id']}/download"
    [written] = (tmp_path / "data" / "exports").iterdir()
    assert written.name == done["file_name"] and written.suffix == ".parquet"
    r = client.get(done["download_url"], headers=admin)
    assert r.status_code == 200 and pq.read_table(io.BytesIO(r.content)).num_rows == 4

    trainer = auth(token(session, "trainer", expert(session)["id"]))
    assert client.get(done["download_url"], headers=trainer).status_code == 403
    assert client.get(f"/api/v1/exports/{job['id']}", headers=trainer).status_code == 403
    assert client.post(f"/api/v1/projects/{pid}/exports", headers=trainer, json={"format": "raw"}).status_code == 403


def test_export_job_requests_are_checked_before_anything_is_queued(client, session):
    pid = _judged(session, 1)
    admin = auth(token(session, "admin"))
    r = client.post(f"/api/v1/projects/{pid}/exports", headers=admin, json={"format": "sft"})
    assert r.status_code == 422 and "cannot be exported as sft" in r.text
    r = client.post(f"/api/v1/projects/{pid}/exports", headers=admin, json={"format": "raw", "file": "xlsx"})
    assert r.status_code == 422
    r = client.post("/api/v1/projects/999999/exports", headers=admin, json={"format": "raw"})
    assert r.status_code == 404
    assert client.get("/api/v1/jobs", headers=admin, params={"project_id": pid}).json() == [] or all(
        j["kind"] != "export" for j in client.get("/api/v1/jobs", headers=admin, params={"project_id": pid}).json())
    assert client.get("/api/v1/exports/999999", headers=admin).status_code == 404


def test_a_crafted_export_path_outside_the_data_dir_is_never_served(client, app, session, tmp_path):
    """A job row naming a file outside ``<data_dir>/exports`` (directly, by ``..``, or through a
    link inside the exports folder) is refused: 404, and the file's bytes never leave."""
    from expertloop.services import uow
    from expertloop.storage.orm import Job

    app.state.settings.data_dir = tmp_path / "data"
    pid = _judged(session, 2)
    admin = auth(token(session, "manager"))
    job = client.post(f"/api/v1/projects/{pid}/exports", headers=admin, json={"format": "raw"}).json()
    run_jobs(session)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-OUTSIDE-DATA-DIR")
    exports = tmp_path / "data" / "exports"
    (exports / "link.jsonl").symlink_to(secret)
    for crafted in (str(secret), str(exports / ".." / ".." / "secret.txt"), str(exports / "link.jsonl"),
                    str(exports), "/etc/passwd"):
        with uow.write(session):
            row = session.get_one(Job, job["id"])
            row.payload = {**row.payload, "path": crafted}
        r = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin)
        assert r.status_code == 404 and "TOP-SECRET" not in r.text, (crafted, r.status_code)


def test_an_export_job_reports_its_progress_while_it_writes(client, app, session, tmp_path, monkeypatch):
    """A big export job reports how many records it has written every PROGRESS_EVERY records,
    from inside the stream it is reading (here every 2 of 5)."""
    from expertloop.services import export_jobs

    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 2)
    app.state.settings.data_dir = tmp_path / "data"
    pid = _judged(session, 5)
    admin = auth(token(session, "manager"))
    for file in ("jsonl", "parquet"):
        r = client.post(f"/api/v1/projects/{pid}/exports", headers=admin, json={"format": "preference", "file": file})
        assert r.status_code == 202, r.text
        run_jobs(session)
        done = client.get(f"/api/v1/exports/{r.json()['id']}", headers=admin).json()
        assert done["state"] == "done" and done["records"] == 5, done
