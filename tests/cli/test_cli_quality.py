"""``expertloop quality --refresh`` computes the project's stored quality snapshot."""

from __future__ import annotations

import json

from expertloop.config import Settings
from expertloop.services import assignments, reports
from expertloop.storage.db import make_engine, make_sessionmaker
from tests import factories as f


def test_refresh_stores_the_snapshot_the_console_and_api_read(cli):
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        p = f.project(s, "sft")
        f.items(s, p["id"], "sft", 2)
        actor = f.trainer_actor(f.expert(s))
        lease = assignments.lease_next(s, actor, p["id"])
        assignments.submit(s, actor, lease["assignment_id"], {"completion": "An ideal answer."}, Settings())
        assert reports.stored_report(s, f.ADMIN, p["id"]) is None
    r = cli("quality", str(p["id"]), "--refresh", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["judgments"] == 1 and json.loads(r.output)["computed_at"]
    with make_sessionmaker(engine)() as s:
        report = reports.quality_report(s, f.ADMIN, p["id"])
        assert report["status"] == "ready" and report["judgments"] == 1 and not report["refreshing"]
    engine.dispose()
