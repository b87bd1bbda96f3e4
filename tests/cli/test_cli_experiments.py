"""``expertloop experiment``: create from a file, report as a table and as JSON, stop; bad input
is one clear error and changes nothing."""

from __future__ import annotations

import json

from expertloop.config import Settings
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.storage.db import make_engine, make_sessionmaker


def test_experiment_create_report_stop(cli, tmp_path):
    cli("init")
    experts = tmp_path / "experts.jsonl"
    experts.write_text("".join(json.dumps({"name": n, "email": f"{n}@example.org", "hourly_rate_usd": "50.00"}) + "\n"
                               for n in ("ana", "bo")))
    assert cli("experts", "import", str(experts)).exit_code == 0
    project = tmp_path / "p.json"
    project.write_text(json.dumps({"name": "Labels", "task_type": "label", "options": {"labels": ["yes", "no"]},
                                   "overlap": 2}))
    pid = int(cli("project", "create", str(project)).output.strip())
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"external_id": f"q{i}", "text": f"T{i}"}) + "\n" for i in range(8)))
    assert cli("items", "import", str(pid), str(items)).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "arms": [{"name": "a", "kind": "pay", "config": {}}]}))
    r = cli("experiment", "create", str(pid), str(bad))
    assert r.exit_code == 1 and "arms" in r.output and "hourly_rate_usd" in r.output
    assert cli("experiment", "report", str(pid)).exit_code == 1  # nothing was created
    spec = tmp_path / "exp.json"
    spec.write_text(json.dumps({"name": "pay test", "unit": "trainer", "arms": [
        {"name": "low", "kind": "pay", "config": {"hourly_rate_usd": "40.00"}},
        {"name": "high", "kind": "pay", "config": {"hourly_rate_usd": "200.00"}}]}))
    r = cli("experiment", "create", str(pid), str(spec))
    assert r.exit_code == 0, r.output
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        for expert_id in (1, 2):
            actor = Actor(Role.trainer, expert_id)
            while (lease := svc.lease_next(s, actor, pid)) is not None:
                svc.submit(s, actor, lease["assignment_id"], {"label": "yes"}, Settings())
    engine.dispose()
    r = cli("experiment", "report", str(pid))
    assert r.exit_code == 0, r.output
    assert "pay test" in r.stdout and "low" in r.stdout
    assert "power:" in r.stdout and "more judgments per arm" in r.stdout
    report = json.loads(cli("experiment", "report", str(pid), "--json").stdout)
    arms = {a["arm"]: a for a in report["arms"]}
    assert arms["low"]["judgments"] + arms["high"]["judgments"] == 16
    assert "stopped" in cli("experiment", "stop", str(pid)).stdout


def test_forecast_from_a_pilot(cli, tmp_path):
    cli("init")
    experts = tmp_path / "experts.jsonl"
    experts.write_text("".join(json.dumps({"name": n, "email": f"{n}@example.org", "hourly_rate_usd": "60.00"}) + "\n"
                               for n in ("ana", "bo")))
    assert cli("experts", "import", str(experts)).exit_code == 0
    project = tmp_path / "p.json"
    project.write_text(json.dumps({"name": "Labels", "task_type": "label", "options": {"labels": ["yes", "no"]},
                                   "overlap": 2}))
    pid = int(cli("project", "create", str(project)).output.strip())
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"external_id": f"q{i}", "text": f"T{i}"}) + "\n" for i in range(30)))
    assert cli("items", "import", str(pid), str(items)).exit_code == 0
    r = cli("forecast", str(pid), "--target", "accuracy=0.9")
    assert r.exit_code == 1 and "no consensus" in r.output  # nothing judged yet
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        for expert_id in (1, 2):
            actor = Actor(Role.trainer, expert_id)
            for n in range(10):  # the pilot: the first 10 items, twice each
                lease = svc.lease_next(s, actor, pid)
                svc.submit(s, actor, lease["assignment_id"], {"label": "yes" if n % 4 else "no"}, Settings())
    engine.dispose()
    assert cli("forecast", str(pid), "--target", "alpha=0.7").exit_code == 0  # agreement targets too
    assert "between 0 and 1" in cli("forecast", str(pid), "--target", "accuracy=1.2").output
    f = json.loads(cli("forecast", str(pid), "--target", "accuracy=0.9", "--json").stdout)
    assert f["remaining_items"] == 20 and f["trainers"] == 2
    j, c = f["judgments"], f["cost_cents"]
    assert 20 <= j["low"] <= j["median"] <= j["high"] <= 100 and c["low"] <= c["median"] <= c["high"]
    r = cli("forecast", str(pid), "--target", "accuracy=0.9")
    assert r.exit_code == 0 and "20 items left" in r.stdout and "expert-hours" in r.stdout
