"""The console's passport and authenticity pages, without a browser: a manager downloads a
signed export and a Hub folder that verify offline, and the revocation list; a trainer may
not; the review queue shows the evidence and takes a decision."""

from __future__ import annotations

import io
import re
import zipfile

from fastapi.testclient import TestClient

from expertloop.config import Settings
from expertloop.services import assignments as svc
from expertloop.services.passport import verify
from tests.factories import expert, items, project, run_jobs, token, trainer_actor
from tests.web.helpers import PageClient

PASTED = "A long answer that was pasted in whole from somewhere else entirely. " * 4


def test_manager_downloads_signed_exports_and_reviews_flags(app, session, tmp_path):
    p = project(session, "sft")
    items(session, p["id"], "sft", 2)
    e = expert(session)
    lease = svc.lease_next(session, trainer_actor(e), p["id"])
    svc.submit(session, trainer_actor(e), lease["assignment_id"], {"completion": PASTED}, Settings(),
               authenticity={"completion": {"pasted_chars": len(PASTED), "paste_events": 1,
                                            "final_chars": len(PASTED)}})
    with TestClient(app) as m, TestClient(app) as t:
        manager = PageClient(m, token(session, "manager"), "/manage")
        trainer = PageClient(t, token(session, "trainer", e["id"]), "/work")

        app.state.settings.data_dir = tmp_path / "data"
        page = manager.get(f"/manage/projects/{p['id']}")
        assert f'action="/manage/projects/{p["id"]}/export/signed"' in page.text
        # the Hub folder splits by item id: the one record is in train or in test, depending on
        # its id (PostgreSQL sequences run on across tests), so either split's file will do
        for hub, expected in ((False, {"data.jsonl", "manifest.json"}), (True, {"README.md", "manifest.json"})):
            r = manager.post(f"/manage/projects/{p['id']}/export/signed",
                             {"format": "sft", **({"hub": "true"} if hub else {})})
            assert r.status_code == 303 and "queued" in manager.get(r.headers["location"]).text
            run_jobs(session)
            page = manager.get(f"/manage/projects/{p['id']}")
            link = re.findall(r'href="(/manage/exports/\d+/download)"', page.text)[0]   # newest first
            r = manager.get(link)
            assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
            folder = tmp_path / f"hub{hub}"
            archive = zipfile.ZipFile(io.BytesIO(r.content))
            assert set(archive.namelist()) >= expected
            if hub:
                assert {"data/train.parquet", "data/test.parquet"} & set(archive.namelist()), archive.namelist()
            archive.extractall(folder)
            assert verify(folder).ok
        r = manager.post(f"/manage/projects/{p['id']}/export/signed", {"format": "nope"})
        assert r.status_code == 303 and "must be one of" in manager.get(r.headers["location"]).text
        assert trainer.post(f"/manage/projects/{p['id']}/export/signed", {"format": "sft"}).status_code == 403
        r = manager.get(f"/manage/projects/{p['id']}/revocations.json")
        assert r.status_code == 200 and r.json()["count"] == 0 and r.json()["signature"]
        assert trainer.get(f"/manage/projects/{p['id']}/revocations.json").status_code == 403

        queue = manager.get(f"/manage/projects/{p['id']}/authenticity?status=%00")
        assert queue.status_code == 200 and "unkeyed_text" in queue.text and str(len(PASTED)) in queue.text
        check_id = int(queue.text.split('data-check="')[1].split('"')[0])
        assert trainer.get(f"/manage/projects/{p['id']}/authenticity").status_code == 403
        r = manager.post(f"/manage/authenticity/{check_id}/decide", {"outcome": "upheld", "project_id": str(p["id"])})
        assert r.status_code == 303  # refused (a note is required) and said so
        assert "flagged" in manager.get(f"/manage/projects/{p['id']}/authenticity").text
        r = manager.post(f"/manage/authenticity/{check_id}/decide",
                         {"outcome": "upheld", "note": "Matches a web page.", "project_id": str(p["id"])})
        assert r.status_code == 303
        flags = trainer.get("/work/flags")
        assert "Matches a web page." in flags.text and "upheld" in flags.text
        assert "1 authenticity question" in trainer.get("/work").text
