"""Pages without a browser: the quality page shows re-test agreement and review outcomes."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient

from expertloop.services import assignments as work
from expertloop.services.clock import utcnow
from tests.factories import expert, items, project, run_jobs, staff_item, token, trainer_actor

from .helpers import PageClient


class _AlwaysRetest(random.Random):
    def random(self) -> float:
        return 0.0

    def getrandbits(self, k: int) -> int:
        return super().getrandbits(k)


def test_quality_page_shows_retest_agreement_and_review_outcomes(app, session, settings, monkeypatch):
    p = project(session, "label", retest_rate=0.5, retest_after_hours=1)
    items(session, p["id"], "label", 2)
    e = expert(session)
    t0 = utcnow() - timedelta(hours=3)
    first = work.lease_next(session, trainer_actor(e), p["id"], now=t0)
    work.submit(session, trainer_actor(e), first["assignment_id"], {"label": "yes"}, settings,
                now=t0 + timedelta(seconds=40))
    monkeypatch.setattr(work, "_rng", _AlwaysRetest(3))
    again = work.lease_next(session, trainer_actor(e), p["id"])
    assert staff_item(session, again)["id"] == staff_item(session, first)["id"]
    work.submit(session, trainer_actor(e), again["assignment_id"], {"label": "no"}, settings)
    run_jobs(session)
    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "manager"), "/manage")
        r = page.get(f"/manage/projects/{p['id']}/quality")
        assert r.status_code == 200, r.text[:300]
        cell = r.text.split("data-retest>")[1].split("</td>")[0]
        assert cell.startswith("0%") and "–" in cell   # answered differently the second time
