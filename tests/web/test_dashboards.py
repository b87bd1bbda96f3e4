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


def _recount(session, project_id: int) -> dict:
    """The dashboard's figures recounted row by row in Python, the plain way: the reference the
    page's aggregate queries must match."""
    from collections import defaultdict

    from sqlalchemy import select

    from expertloop.services import uow
    from expertloop.storage.orm import Assignment, Consent, Expert, LedgerEntry

    with uow.read(session):
        withdrawn = set(session.execute(select(Consent.id).where(Consent.withdrawn_at.is_not(None))).scalars())
        rows = session.execute(select(Assignment.expert_id, Assignment.state, Assignment.consent_id,
                                      Assignment.submitted_at, Assignment.active_seconds)
                               .where(Assignment.project_id == project_id)).all()
        ledger = session.execute(select(LedgerEntry.expert_id, LedgerEntry.created_at, LedgerEntry.amount_cents)
                                 .where(LedgerEntry.project_id == project_id)).all()
        names = dict(session.execute(select(Expert.id, Expert.name)).all())
    trainers: dict[int, dict] = {}
    per_day: dict[str, int] = defaultdict(int)
    judgments = 0
    for expert_id, state, consent_id, submitted_at, seconds in rows:
        stands = consent_id is None or consent_id not in withdrawn
        if not stands or state not in ("submitted", "accepted", "rejected"):
            continue
        judgments += state != "rejected"
        t = trainers.setdefault(expert_id, {"submitted": 0, "accepted": 0, "rejected": 0, "pending_review": 0,
                                            "seconds": 0.0})
        t["submitted"] += 1
        t["seconds"] += seconds
        t["pending_review" if state == "submitted" else state] += 1
        per_day[submitted_at.date().isoformat()] += 1
    earned: dict[int, int] = defaultdict(int)
    spend: dict[str, int] = defaultdict(int)
    for expert_id, created_at, cents in ledger:
        earned[expert_id] += cents
        spend[created_at.date().isoformat()] += cents
    table = [{"expert_id": e, "name": names[e], "submitted": t["submitted"], "accepted": t["accepted"],
              "rejected": t["rejected"], "pending_review": t["pending_review"],
              "active_seconds": round(t["seconds"], 1), "earned_cents": earned.get(e, 0)}
             for e, t in trainers.items()]
    table.sort(key=lambda r: (-r["submitted"], r["name"]))
    return {"trainers": table, "per_day": dict(per_day), "spend": dict(spend), "spent": sum(spend.values()),
            "judgments": judgments}


def test_dashboard_figures_match_a_plain_recount(session):
    """Trainer table, submissions and spend per day, and the total, against a row-by-row recount
    of a project with every kind of row: accepted, rejected, pending, withdrawn, released, still
    leased, work on three days, and another project's work that must not leak in."""
    from expertloop.services import consent

    p = project(session, "label", overlap=2, hourly_rate_usd="60.00")
    other = project(session, "label", overlap=1, hourly_rate_usd="90.00")
    items(session, p["id"], "label", 6)
    items(session, other["id"], "label", 2)
    people = [expert(session, name=n) for n in ("Ada", "Bo", "Cy", "Di")]
    settings = Settings()
    day1 = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # late in the day: minutes later is the next day
    done = []
    for k, (who, offset, minutes) in enumerate([(0, 0, 3), (1, 0, 95), (2, 1, 2), (0, 1, 7), (1, 2, 1),
                                                (2, 2, 4), (3, 2, 5), (0, 2, 2)]):
        actor = trainer_actor(people[who])
        when = day1 + timedelta(days=offset, minutes=k)
        lease = assignments.lease_next(session, actor, p["id"], now=when)
        out = assignments.submit(session, actor, lease["assignment_id"], {"label": ("yes", "no")[k % 2]}, settings,
                                 now=when + timedelta(minutes=minutes))
        done.append(out["assignment_id"])
    reviews.review(session, ADMIN, done[0], "accept")
    reviews.review(session, ADMIN, done[1], "reject", "Read it again.")
    reviews.review(session, ADMIN, done[3], "accept")
    consent.withdraw(session, ADMIN, p["id"], expert_id=people[2]["id"], reason="asked to leave")
    released = assignments.lease_next(session, trainer_actor(people[1]), p["id"], now=day1 + timedelta(days=3))
    assignments.release(session, trainer_actor(people[1]), released["assignment_id"])
    assignments.lease_next(session, trainer_actor(people[3]), p["id"], now=day1 + timedelta(days=3))
    lease = assignments.lease_next(session, trainer_actor(people[0]), other["id"], now=day1)
    assignments.submit(session, trainer_actor(people[0]), lease["assignment_id"], {"label": "yes"}, settings,
                       now=day1 + timedelta(minutes=9))

    dash = dashboards.project_dashboard(session, ADMIN, p["id"], now=day1 + timedelta(days=3))
    want = _recount(session, p["id"])
    got_days = {d: n for d, n in zip(dash["days"], dash["submissions_per_day"], strict=True) if n}
    assert got_days == want["per_day"] and sum(want["per_day"].values()) == 6  # Cy's two are withdrawn
    assert {d: c for d, c in zip(dash["days"], dash["spend_per_day_cents"], strict=True) if c} == want["spend"]
    assert dash["spent_cents"] == dash["cumulative_spend_cents"][-1] == want["spent"] > 0
    assert dash["project"]["progress"]["judgments"] == want["judgments"] == 5
    table = [{k: r[k] for k in ("expert_id", "name", "submitted", "accepted", "rejected", "pending_review",
                                "active_seconds", "earned_cents")} for r in dash["trainers"]]
    assert table == want["trainers"]
    assert [r["name"] for r in table] == ["Ada", "Bo", "Di"]  # withdrawn Cy has no row
    assert table[0]["earned_cents"] == 600  # 3 tasks x 2 min (idle cap) at $60/h; her other project's pay stays out
