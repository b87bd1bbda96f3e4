"""``expertloop export``: the filters, and the summary of what was left out and why."""

from __future__ import annotations

import json

from expertloop.config import Settings
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.storage.db import make_engine, make_sessionmaker
from tests.factories import staff_item


def test_export_filters_and_says_what_it_left_out(cli, tmp_path):
    cli("init")
    experts = tmp_path / "experts.jsonl"
    experts.write_text("".join(json.dumps({"name": n, "email": f"{n}@example.org", "hourly_rate_usd": "50.00"}) + "\n"
                               for n in ("ana", "bo")))
    assert cli("experts", "import", str(experts)).exit_code == 0
    project = tmp_path / "p.json"
    project.write_text(json.dumps({"name": "Prefs", "task_type": "preference", "overlap": 2}))
    pid = int(cli("project", "create", str(project)).output.strip())
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"external_id": f"q{i}", "prompt": f"Q{i}?",
                                         "responses": [{"text": "good"}, {"text": "bad"}]}) + "\n" for i in range(4)))
    assert cli("items", "import", str(pid), str(items)).exit_code == 0
    # ana judges all four (one tie), bo only q0
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        for expert_id, plan in ((1, {"q0": 0, "q1": 0, "q2": "tie", "q3": 1}), (2, {"q0": 0})):
            actor = Actor(Role.trainer, expert_id)
            while (lease := svc.lease_next(s, actor, pid)) is not None:
                choice = plan.get(staff_item(s, lease)["external_id"])
                if choice is None:
                    svc.release(s, actor, lease["assignment_id"])
                else:
                    svc.submit(s, actor, lease["assignment_id"], {"choice": choice, "strength": 2}, Settings())
    engine.dispose()

    out = tmp_path / "pairs.jsonl"
    r = cli("export", str(pid), "--format", "preference", "--consensus", "--min-judgments", "2", "-o", str(out))
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [rec["metadata"]["item_external_id"] for rec in records] == ["q0"]
    assert records[0]["metadata"]["judgments"] == 2 and records[0]["margin"] == 2.0
    assert f"wrote 1 records to {out}; left out 3 items: 3 below --min-judgments" in r.stderr
    # to stdout: records on stdout, the summary on stderr
    r = cli("export", str(pid), "--format", "preference")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 4
    assert "wrote 4 records; left out 1 judgment: 1 tie" in r.stderr
    r = cli("export", str(pid), "--format", "preference", "--min-confidence", "1.5")
    assert r.exit_code == 2 and "Invalid value" in r.output and r.stdout == ""
