"""``expertloop judgments import``: Label Studio, Argilla v2 and expertloop raw records, with
their items and annotators; all-or-nothing with every problem at once; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Assignment, Expert, Item

DATA = Path(__file__).resolve().parents[1] / "data"


def _query(url: str, stmt):
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            return s.execute(stmt).all()
    finally:
        engine.dispose()


def _label_project(cli, tmp_path) -> str:
    assert cli("init").exit_code == 0
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "Reviews", "task_type": "label", "overlap": 2,
                             "options": {"labels": ["positive", "negative", "neutral"]}}))
    return cli("project", "create", str(p)).output.strip()


def test_label_studio_export_imports_once_with_its_ids_and_annotators(cli, tmp_path):
    pid = _label_project(cli, tmp_path)
    r = cli("judgments", "import", pid, str(DATA / "label_studio_export.json"))
    assert r.exit_code == 0, r.output
    assert "imported 3 judgments (label-studio)" in r.output and "2 new items, 2 new experts" in r.output
    assert "1 skipped in the source" in r.output  # the cancelled annotation
    items = dict(_query(cli.url, select(Item.external_id, Item.payload)))
    # the task's id is the external id; the source's own id/label fields are kept under new names
    assert items["101"] == {"text": "Arrived early and works well.", "source_id": 17, "source_label": "pos"}
    emails = {e for (e,) in _query(cli.url, select(Expert.email))}
    assert emails == {"label-studio-user-1@imported.invalid", "rosa@example.org"}
    done = dict(_query(cli.url, select(Item.external_id, Item.done_count)))
    assert done == {"101": 2, "102": 1}

    again = cli("judgments", "import", pid, str(DATA / "label_studio_export.json"))
    assert again.exit_code == 0, again.output
    assert "imported 0 judgments" in again.output and "3 already present" in again.output
    assert _query(cli.url, select(func.count()).select_from(Assignment)) == [(3,)]

    out = tmp_path / "labels.jsonl"
    assert cli("export", pid, "--format", "label", "-o", str(out)).exit_code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    first = records[0]
    assert first["label"] == "positive" and first["source_label"] == "pos" and first["source_id"] == 17
    assert first["metadata"]["item_external_id"] == "101"


def test_argilla_records_import_submitted_responses(cli, tmp_path):
    pid = _label_project(cli, tmp_path)
    r = cli("judgments", "import", pid, str(DATA / "argilla_records.jsonl"))
    assert r.exit_code == 0, r.output
    assert "imported 3 judgments (argilla)" in r.output and "1 skipped in the source" in r.output
    rows = _query(cli.url, select(Item.external_id, Assignment.response).join(Item, Item.id == Assignment.item_id)
                  .order_by(Assignment.id))
    assert rows == [("review-1", {"label": "positive"}), ("review-1", {"label": "neutral"}),
                    ("review-2", {"label": "negative"})]
    payload = _query(cli.url, select(Item.payload).where(Item.external_id == "review-2"))[0][0]
    assert payload == {"text": "Broke after a week.", "source_label": "neg"}


def test_every_problem_in_a_file_is_reported_and_nothing_changes(cli, tmp_path):
    pid = _label_project(cli, tmp_path)
    good = (DATA / "argilla_records.jsonl").read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        good[0],
        '{"id": "review-9", "fields": {"text": "x"}, "responses": {"sentiment": [{"value": "meh", "user_id": "u1"}]}}',
        '{"id": "review-10", "fields": ',
        '{"id": "review-11", "fields": {"text": "y"}, "responses": {"sentiment": [{"value": "positive"}]}}',
        good[1]]) + "\n")
    r = cli("judgments", "import", pid, str(bad))
    assert r.exit_code == 1
    assert "3 problems, nothing was changed" in r.output
    assert "line 2: responses.sentiment[0]: response.label: must be one of" in r.output
    assert "line 3: invalid JSON" in r.output
    assert "line 4: responses.sentiment[0].user_id: names no annotator" in r.output
    assert _query(cli.url, select(func.count()).select_from(Item)) == [(0,)]
    assert _query(cli.url, select(func.count()).select_from(Expert)) == [(0,)]


def test_raw_export_round_trips_into_another_project(cli, tmp_path):
    pid = _label_project(cli, tmp_path)
    assert cli("judgments", "import", pid, str(DATA / "label_studio_export.json")).exit_code == 0
    raw = tmp_path / "raw.jsonl"
    assert cli("export", pid, "--format", "raw", "-o", str(raw)).exit_code == 0
    other = tmp_path / "q.json"
    other.write_text(json.dumps({"name": "Copy", "task_type": "label", "options": {"labels": ["positive", "negative",
                                                                                              "neutral"]}}))
    pid2 = cli("project", "create", str(other)).output.strip()
    r = cli("judgments", "import", pid2, str(raw))
    assert r.exit_code == 0, r.output
    assert "imported 3 judgments (raw)" in r.output and "2 new experts" in r.output
    rows = _query(cli.url, select(Item.external_id, Assignment.response).join(Item, Item.id == Assignment.item_id)
                  .where(Item.project_id == int(pid2)).order_by(Assignment.id))
    assert [(e, resp["label"]) for e, resp in rows] == [("101", "positive"), ("101", "positive"), ("102", "negative")]
    sft = tmp_path / "s.json"
    sft.write_text(json.dumps({"name": "Answers", "task_type": "sft"}))
    pid3 = cli("project", "create", str(sft)).output.strip()
    r = cli("judgments", "import", pid3, str(raw))
    assert r.exit_code == 1 and "line 1: task_type: is 'label'; this project is sft" in r.output
