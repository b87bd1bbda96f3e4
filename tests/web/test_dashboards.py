"""The manager dashboard's figures, on SQLite and PostgreSQL (per-day grouping differs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied
from expertloop.services import assignments, dashboards, reviews
from tests.factories import ADMIN, VALID_RESPONSE, expert, items, project, trainer_actor


def test_dashboard_counts_throughput_spend_and_trainers(session):
    p = project(session, "label", overlap=1, budget_usd="100.00", hourly_rate_usd="60.00")
    items(session, p["id"], "label", 4)
    ada, bo = expert(session, name="Ada"), expert(session, name="Bo")
    settings = Settings()
    day1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    done = []
    for who, when in ((ada, day1), (ada, day1 + timedelta(days=1)), (bo, day1 + timedelta(days=1))):
        actor = trainer_actor(who)
        lease = assignments.lease_next(session, actor, p["id"], now=when)
        out = assignments.submit(session, actor, lease["assignment_id"], VALID_RESPONSE["label"], settings,
                                 now=when + timedelta(minutes=2))
        done.append(out["assignment_id"])
    reviews.review(session, ADMIN, done[0], "accept")
    reviews.review(session, ADMIN, done[1], "reject", "Read it again.")

    dash = dashboards.project_dashboard(session, ADMIN, p["id"], now=day1 + timedelta(days=2))
    days = dict(zip(dash["days"], dash["submissions_per_day"], strict=False))
    assert days["2026-03-02"] == 1 and days["2026-03-03"] == 2 and days["2026-03-04"] == 0
    assert len(dash["days"]) >= 14                       # a young project still gets a two-week axis
    spend = dict(zip(dash["days"], dash["spend_per_day_cents"], strict=False))
    assert spend["2026-03-02"] == 200 and spend["2026-03-03"] == 400   # 2 min at $60/h = $2.00
    assert dash["cumulative_spend_cents"][-1] == dash["spent_cents"] == 600
    assert dash["budget_cents"] == 10_000 and dash["budget_days_left"] is not None
    rows = {r["name"]: r for r in dash["trainers"]}
    assert rows["Ada"]["submitted"] == 2 and rows["Ada"]["accepted"] == 1 and rows["Ada"]["rejected"] == 1
    assert rows["Ada"]["acceptance_rate"] == 0.5 and rows["Ada"]["earned_usd"] == "4.00"
    assert rows["Bo"]["pending_review"] == 1 and rows["Bo"]["acceptance_rate"] is None
    assert dash["project"]["progress"]["items_complete"] == 2           # the rejected one reopened

    overview = {row["id"]: row for row in dashboards.projects_overview(session, ADMIN)}
    assert overview[p["id"]]["pending_review"] == 1 and overview[p["id"]]["spent_cents"] == 600
    with pytest.raises(PermissionDenied):
        dashboards.project_dashboard(session, trainer_actor(ada), p["id"])


def test_agreement_over_time_compares_each_day_with_the_consensus(session):
    p = project(session, "label", overlap=3)
    items(session, p["id"], "label", 2)
    trainers = [expert(session, name=n) for n in ("A", "B", "C")]
    day1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    settings = Settings()
    # day 1: everyone says "yes" on the first item; day 2: two say "no", one says "yes" on the second
    plan = [(0, "yes", day1), (1, "yes", day1), (2, "yes", day1),
            (0, "no", day1 + timedelta(days=1)), (1, "no", day1 + timedelta(days=1)),
            (2, "yes", day1 + timedelta(days=1))]
    for who, label, when in plan:
        actor = trainer_actor(trainers[who])
        lease = assignments.lease_next(session, actor, p["id"], now=when)
        assignments.submit(session, actor, lease["assignment_id"], {"label": label}, settings,
                           now=when + timedelta(minutes=1))
    dash = dashboards.project_dashboard(session, ADMIN, p["id"], now=day1 + timedelta(days=2))
    per_day = dict(zip(dash["days"], dash["agreement_per_day"], strict=False))
    assert per_day["2026-03-02"] == 100 and per_day["2026-03-03"] == 67 and per_day["2026-03-04"] is None
