"""The console's export form: every format of the project, JSONL or Parquet, the consensus
options, and big exports prepared in the background with a download link."""

from __future__ import annotations

import io
import re

import pyarrow.parquet as pq

from expertloop.config import Settings
from expertloop.services import assignments as svc
from tests.factories import expert, items, project, run_jobs, token, trainer_actor


def _signed_in(client, session) -> str:
    page = client.get("/signin?tab=token").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/signin/token", data={"token": token(session, "manager"), "csrf_token": csrf})
    return csrf


def _judged_labels(session) -> int:
    # 5 items: the consensus cache is keyed by database, project id and judgment count, and
    # rolled-back tests reuse ids; another test's 3-judgment project must not answer for this one
    p = project(session, "label", overlap=1)
    items(session, p["id"], "label", 5)
    actor = trainer_actor(expert(session))
    while (lease := svc.lease_next(session, actor, p["id"])) is not None:
        svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, Settings())
    return p["id"]


def test_console_exports_parquet_with_consensus_now_and_in_the_background(client, app, session, tmp_path):
    app.state.settings.data_dir = tmp_path
    pid = _judged_labels(session)
    _signed_in(client, session)
    html = client.get(f"/manage/projects/{pid}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert 'name="consensus"' in html and '<option value="parquet">' in html and 'value="label"' in html

    r = client.post(f"/manage/projects/{pid}/exports", data={
        "csrf_token": csrf, "format": "label", "file": "parquet", "consensus": "1", "mode": "now"})
    assert r.status_code == 200, r.text[:500]
    assert pq.read_table(io.BytesIO(r.content)).num_rows == 5

    r = client.post(f"/manage/projects/{pid}/exports", data={
        "csrf_token": csrf, "format": "label", "file": "jsonl", "min_judgments": "2", "mode": "job"},
        follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    run_jobs(session)
    html = client.get(f"/manage/projects/{pid}").text
    link = re.search(r'href="(/manage/exports/\d+/download)"', html)
    assert link, html
    assert "left out 5 judgments: 5 below --min-judgments" in html
    assert client.get(link.group(1)).status_code == 200

    r = client.post(f"/manage/projects/{pid}/exports", data={
        "csrf_token": csrf, "format": "label", "min_confidence": "2", "mode": "job"})
    assert r.status_code == 422 and "min_confidence" in r.text
