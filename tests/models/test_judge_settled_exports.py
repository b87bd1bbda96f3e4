"""Items a ``judge_first`` judge settled alone (no expert saw them) in exports: left out and
counted by default, included on request — marked ``decided_by: "judge"``, with the judge's model and
``judgments: 0`` — in TRL's preference layout, and loaded back with ``datasets``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertloop.cli.main import app as cli_app
from expertloop.config import Settings
from expertloop.services import assignments, models
from expertloop.services.exports import iter_records
from expertloop.services.imports import import_items
from tests.factories import ADMIN, auth, expert, project, run_jobs, token, trainer_actor

LONG, SHORT = "Yes, because the evidence shows it clearly.", "Yes."


def trl_preference(record: dict) -> None:
    """TRL's conversational preference layout (DPOTrainer): a prompt conversation ending in a
    user turn, and chosen/rejected assistant turns."""
    assert {"prompt", "chosen", "rejected"} <= set(record)
    assert record["prompt"] and all(set(m) == {"role", "content"} for m in record["prompt"])
    assert record["prompt"][-1]["role"] == "user"
    for side in ("chosen", "rejected"):
        assert [m["role"] for m in record[side]] == ["assistant"] and isinstance(record[side][0]["content"], str)


@pytest.fixture()
def screened(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "judge-weights")
    p = project(session, "preference", judge_first={"model": "judge", "min_agreement": 0.75})
    import_items(session, ADMIN, p["id"], [
        (1, {"external_id": "clear-1", "prompt": "clear 1", "responses": [{"text": LONG}, {"text": SHORT}]}),
        (2, {"external_id": "clear-2", "prompt": "clear 2", "responses": [{"text": SHORT}, {"text": LONG}]}),
        (3, {"external_id": "biased", "prompt": "biased [[prefer:first]]",
             "responses": [{"text": LONG}, {"text": SHORT}]})])
    run_jobs(session)
    actor = trainer_actor(expert(session))
    while (lease := assignments.lease_next(session, actor, p["id"])) is not None:  # only the biased item
        assignments.submit(session, actor, lease["assignment_id"], {"choice": 0}, Settings())
    run_jobs(session)
    return p["id"]


def test_left_out_and_counted_by_default(session, screened):
    stream = iter_records(session, ADMIN, screened, "preference")
    records = list(stream)
    assert [r["metadata"]["item_external_id"] for r in records] == ["biased"]
    assert records[0]["metadata"]["decided_by"] == "experts" and records[0]["metadata"]["judge"] is None
    assert stream.summary()["left_out"] == {"judge_settled": 2}
    assert "2 settled by the judge (--judge-settled includes them)" in stream.summary_line()


def test_included_on_request_marked_and_in_trl_layout(client, session, screened, tmp_path):
    import datasets

    admin = auth(token(session, "admin"))
    r = client.get(f"/api/v1/projects/{screened}/export", headers=admin,
                   params={"format": "preference", "judge_settled": "true", "summary": "true"})
    assert r.status_code == 200, r.text
    *records, trailer = [json.loads(line) for line in r.text.splitlines()]
    assert trailer["_summary"]["left_out"] == {} and len(records) == 3
    by_item = {rec["metadata"]["item_external_id"]: rec for rec in records}
    for ext in ("clear-1", "clear-2"):
        meta = by_item[ext]["metadata"]
        assert meta["decided_by"] == "judge" and meta["judgments"] == 0 and meta["expert"] is None
        assert meta["judge"]["endpoint"] == "judge" and meta["judge"]["model"] == "judge-weights"
        assert meta["judge"]["confidence"] == pytest.approx(0.8) and meta["judge"]["orders"] == 2
        assert by_item[ext]["chosen"] == [{"role": "assistant", "content": LONG}]   # the test judge's pick
    for rec in records:
        trl_preference(rec)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(rec) for rec in records) + "\n")
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert sorted(ds["metadata"], key=lambda m: m["item_id"])[0]["decided_by"] == "judge"
    assert ds.filter(lambda row: row["metadata"]["decided_by"] == "experts").num_rows == 1

    cons = list(iter_records(session, ADMIN, screened, "preference", consensus=True, judge_settled=True))
    judged = [c for c in cons if c["metadata"]["decided_by"] == "judge"]
    assert len(judged) == 2 and all(c["metadata"]["judgments"] == 0 for c in judged)
    raw = list(iter_records(session, ADMIN, screened, "raw", judge_settled=True))
    assert sorted(str(r["response"]["choice"]) for r in raw if r["metadata"]["decided_by"] == "judge") == ["0", "1"]
    strict = iter_records(session, ADMIN, screened, "preference", judge_settled=True, min_judgments=1)
    assert len(list(strict)) == 1 and strict.summary()["left_out"] == {"min_judgments": 2}


def test_queued_export_takes_the_option(client, session, screened):
    admin = auth(token(session, "admin"))
    r = client.post(f"/api/v1/projects/{screened}/exports", headers=admin,
                    json={"format": "preference", "judge_settled": True})
    assert r.status_code == 202 and r.json()["judge_settled"] is True, r.text
    assert client.post(f"/api/v1/projects/{screened}/exports", headers=admin,
                       json={"format": "preference", "judge_settled": "perhaps"}).status_code == 422


def test_cli_flag(fresh_url, model_server, tmp_path):
    runner = CliRunner()
    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    assert runner.invoke(cli_app, ["models", "add", "judge", "--base-url", model_server.base_url,
                                   "--model", "j"], env=env).exit_code == 0
    spec = tmp_path / "p.json"
    spec.write_text('{"name": "P", "task_type": "preference", '
                    '"judge_first": {"model": "judge", "min_agreement": 0.7}}')
    pid = runner.invoke(cli_app, ["project", "create", str(spec)], env=env).output.strip()
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"prompt": "Q", "responses": [{"text": SHORT}, {"text": LONG}]}) + "\n")
    assert runner.invoke(cli_app, ["items", "import", pid, str(data)], env=env).exit_code == 0
    assert runner.invoke(cli_app, ["worker", "--once"], env=env).exit_code in (0, 2)
    out = tmp_path / "out.jsonl"
    r = runner.invoke(cli_app, ["export", pid, "-f", "preference", "-o", str(out), "--judge-settled"], env=env)
    assert r.exit_code == 0, r.output
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["metadata"]["decided_by"] == "judge"


def test_the_console_export_form_offers_judge_settled_items(client, session, screened):
    from tests.web.helpers import PageClient

    pages = PageClient(client, token(session, "admin"), f"/manage/projects/{screened}")
    assert 'name="judge_settled"' in pages.get(f"/manage/projects/{screened}").text
    plain = pages.post(f"/manage/projects/{screened}/exports", {"format": "preference", "mode": "now"})
    withjudge = pages.post(f"/manage/projects/{screened}/exports",
                           {"format": "preference", "mode": "now", "judge_settled": "1"})
    assert plain.status_code == withjudge.status_code == 200
    decided = [json.loads(line)["metadata"]["decided_by"] for line in withjudge.text.splitlines() if line.strip()]
    assert len(plain.text.splitlines()) == 1 and sorted(decided) == ["experts", "judge", "judge"]
