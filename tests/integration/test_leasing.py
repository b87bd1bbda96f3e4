"""The rules of leasing, on a real database: eligibility, overlap, order, expiry, pay, budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import BudgetExhausted, Conflict, LeaseExpired, PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.services.clock import utcnow
from expertloop.services.pay import earnings
from tests import factories as f

SETTINGS = Settings(heartbeat_idle_seconds=120)


def test_eligibility_follows_requirements(session):
    p = f.project(session, "label", requirements={"domains": {"history": 3}, "languages": ["fr"],
                                                  "min_degree": "master"})
    f.items(session, p["id"], "label", 2)
    ok = f.expert(session, domains={"history": 3}, languages=["en", "fr"], degree="master")
    low_level = f.expert(session, domains={"history": 2}, languages=["fr"], degree="phd")
    no_lang = f.expert(session, domains={"history": 5}, languages=["en"], degree="phd")
    low_degree = f.expert(session, domains={"history": 5}, languages=["fr"], degree="bachelor")
    paused = f.expert(session, domains={"history": 5}, languages=["fr"], degree="phd", status="paused")
    assert svc.lease_next(session, f.trainer_actor(ok), p["id"]) is not None
    for e, reason in ((low_level, "history level 3"), (no_lang, "language fr"), (low_degree, "degree master"),
                      (paused, "paused")):
        with pytest.raises(PermissionDenied, match=reason):
            svc.lease_next(session, f.trainer_actor(e), p["id"])


def test_priority_then_age_and_never_the_same_item_twice(session):
    p = f.project(session, "label", overlap=2)
    from expertloop.services.imports import import_items
    import_items(session, f.ADMIN, p["id"], [
        (1, f.item_for("label", 0)), (2, f.item_for("label", 1, priority=5)), (3, f.item_for("label", 2))])
    e = f.expert(session)
    actor = f.trainer_actor(e)
    seen = []
    while (lease := svc.lease_next(session, actor, p["id"])) is not None:
        seen.append(f.staff_item(session, lease)["external_id"])
        svc.submit(session, actor, lease["assignment_id"], {"label": "no"}, SETTINGS)
    assert seen == ["label-1", "label-0", "label-2"]


def test_overlap_limits_live_leases_and_judgments(session):
    p = f.project(session, "label", overlap=2)
    f.items(session, p["id"], "label", 1)
    experts = [f.expert(session) for _ in range(3)]
    l1 = svc.lease_next(session, f.trainer_actor(experts[0]), p["id"])
    l2 = svc.lease_next(session, f.trainer_actor(experts[1]), p["id"])
    assert l1 and l2 and f.staff_item(session, l1)["id"] == f.staff_item(session, l2)["id"]
    assert svc.lease_next(session, f.trainer_actor(experts[2]), p["id"]) is None  # both slots leased
    svc.release(session, f.trainer_actor(experts[1]), l2["assignment_id"])
    l3 = svc.lease_next(session, f.trainer_actor(experts[2]), p["id"])
    assert l3 is not None  # the released slot is free again
    # the expert who released is not offered the item again
    assert svc.lease_next(session, f.trainer_actor(experts[1]), p["id"]) is None


def test_same_expert_gets_their_live_lease_back(session):
    p = f.project(session, "label")
    f.items(session, p["id"], "label", 3)
    actor = f.trainer_actor(f.expert(session))
    first = svc.lease_next(session, actor, p["id"])
    again = svc.lease_next(session, actor, p["id"])
    assert again["assignment_id"] == first["assignment_id"]


def test_expired_lease_frees_the_slot_and_late_submit_conflicts(session):
    p = f.project(session, "label", overlap=1, lease_minutes=10)
    f.items(session, p["id"], "label", 1)
    a, b = f.trainer_actor(f.expert(session)), f.trainer_actor(f.expert(session))
    t0 = utcnow()
    la = svc.lease_next(session, a, p["id"], now=t0)
    assert svc.lease_next(session, b, p["id"], now=t0 + timedelta(minutes=5)) is None
    lb = svc.lease_next(session, b, p["id"], now=t0 + timedelta(minutes=11))
    assert lb is not None and f.staff_item(session, lb)["id"] == f.staff_item(session, la)["id"]
    with pytest.raises(LeaseExpired, match="expired"):
        svc.submit(session, a, la["assignment_id"], {"label": "yes"}, SETTINGS, now=t0 + timedelta(minutes=12))
    # b's work goes through
    done = svc.submit(session, b, lb["assignment_id"], {"label": "no"}, SETTINGS, now=t0 + timedelta(minutes=13))
    assert done["state"] == "submitted"


def test_late_submit_is_accepted_while_the_slot_is_still_free(session):
    p = f.project(session, "label", overlap=1, lease_minutes=10)
    f.items(session, p["id"], "label", 1)
    a = f.trainer_actor(f.expert(session))
    t0 = utcnow()
    la = svc.lease_next(session, a, p["id"], now=t0)
    done = svc.submit(session, a, la["assignment_id"], {"label": "yes"}, SETTINGS, now=t0 + timedelta(minutes=15))
    assert done["state"] == "submitted"


def test_active_time_pay_is_capped_and_exact(session):
    p = f.project(session, "label", max_minutes_per_task=5, lease_minutes=60)
    f.items(session, p["id"], "label", 2)
    e = f.expert(session, hourly_rate_usd="90.00")
    actor = f.trainer_actor(e)
    t0 = utcnow()
    lease = svc.lease_next(session, actor, p["id"], now=t0)
    # heartbeats every 60 s for 3 minutes, then submit 30 s later: 3.5 minutes
    for k in (1, 2, 3):
        svc.heartbeat(session, actor, lease["assignment_id"], SETTINGS, now=t0 + timedelta(seconds=60 * k))
    done = svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, SETTINGS,
                      now=t0 + timedelta(seconds=210))
    assert done["minutes"] == "3.50" and done["earned_usd"] == "5.25"  # 3.5 min × $90/h
    # second task: 20 minutes of heartbeats, capped at 5 minutes
    t1 = t0 + timedelta(minutes=10)
    lease = svc.lease_next(session, actor, p["id"], now=t1)
    for k in range(1, 21):
        svc.heartbeat(session, actor, lease["assignment_id"], SETTINGS, now=t1 + timedelta(minutes=k))
    done = svc.submit(session, actor, lease["assignment_id"], {"label": "no"}, SETTINGS,
                      now=t1 + timedelta(minutes=20, seconds=10))
    assert done["minutes"] == "5.00"
    assert done["earned_usd"] == "7.50"
    summary = earnings(session, f.ADMIN, e["id"])
    assert summary["total_usd"] == "12.75" and summary["tasks"] == 2


def test_idle_gaps_count_only_up_to_the_idle_allowance(session):
    p = f.project(session, "label", max_minutes_per_task=60, lease_minutes=120)
    f.items(session, p["id"], "label", 1)
    actor = f.trainer_actor(f.expert(session, hourly_rate_usd="60.00"))
    t0 = utcnow()
    lease = svc.lease_next(session, actor, p["id"], now=t0)
    # away for 30 minutes without heartbeats: only 120 s of it counts
    done = svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, SETTINGS,
                      now=t0 + timedelta(minutes=30))
    assert done["minutes"] == "2.00" and done["earned_usd"] == "2.00"


def test_project_rate_card_overrides_the_expert_rate(session):
    p = f.project(session, "label", hourly_rate_usd="30.00", lease_minutes=60)
    f.items(session, p["id"], "label", 1)
    actor = f.trainer_actor(f.expert(session, hourly_rate_usd="200.00"))
    t0 = utcnow()
    lease = svc.lease_next(session, actor, p["id"], now=t0)
    svc.heartbeat(session, actor, lease["assignment_id"], SETTINGS, now=t0 + timedelta(seconds=100))
    done = svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, SETTINGS,
                      now=t0 + timedelta(seconds=200))
    assert done["earned_usd"] == "1.67"  # 3.33 min × $30/h


def test_budget_stops_new_leases_at_earned_plus_worst_case(session):
    # $60/h, 10-minute cap: each live lease may cost $10; budget $25 allows two live leases
    p = f.project(session, "label", budget_usd="25.00", max_minutes_per_task=10, overlap=1)
    f.items(session, p["id"], "label", 5)
    actors = [f.trainer_actor(f.expert(session, hourly_rate_usd="60.00")) for _ in range(3)]
    t0 = utcnow()
    l0 = svc.lease_next(session, actors[0], p["id"], now=t0)
    svc.lease_next(session, actors[1], p["id"], now=t0)
    with pytest.raises(BudgetExhausted, match="budget"):
        svc.lease_next(session, actors[2], p["id"], now=t0)
    # finishing quickly turns a $10 worst case into $1 earned, freeing room for a new lease
    svc.submit(session, actors[0], l0["assignment_id"], {"label": "yes"}, SETTINGS, now=t0 + timedelta(seconds=60))
    assert svc.lease_next(session, actors[2], p["id"], now=t0 + timedelta(seconds=61)) is not None


def test_submit_validation_changes_nothing_and_idempotency(session):
    p = f.project(session, "factcheck")
    f.items(session, p["id"], "factcheck", 1)
    actor = f.trainer_actor(f.expert(session))
    lease = svc.lease_next(session, actor, p["id"])
    bad = {"claims": [{"verdict": "maybe"}]}
    with pytest.raises(ValidationFailed) as exc:
        svc.submit(session, actor, lease["assignment_id"], bad, SETTINGS, idempotency_key="k")
    locs = [pr.loc for pr in exc.value.problems]
    assert "response.claims" in locs and "response.claims[0].verdict" in locs
    session.rollback()
    assert svc.get_assignment(session, actor, lease["assignment_id"])["state"] == "leased"
    good = f.VALID_RESPONSE["factcheck"]
    first = svc.submit(session, actor, lease["assignment_id"], good, SETTINGS, idempotency_key="k")
    again = svc.submit(session, actor, lease["assignment_id"], good, SETTINGS, idempotency_key="k")
    assert again["assignment_id"] == first["assignment_id"] and again["earned_usd"] == first["earned_usd"]
    with pytest.raises(Conflict, match="already submitted"):
        svc.submit(session, actor, lease["assignment_id"], good, SETTINGS, idempotency_key="other")
    with pytest.raises(Conflict):
        svc.submit(session, actor, lease["assignment_id"], good, SETTINGS)
    assert len(earnings(session, f.ADMIN, actor.expert_id)["by_project"]) == 1
    assert earnings(session, f.ADMIN, actor.expert_id)["tasks"] == 1


@pytest.mark.parametrize("task_type", ["sft", "preference", "ranking", "factcheck", "rubric", "label"])
def test_every_task_type_round_trips(session, task_type):
    p = f.project(session, task_type)
    f.items(session, p["id"], task_type, 1)
    actor = f.trainer_actor(f.expert(session))
    lease = svc.lease_next(session, actor, p["id"])
    done = svc.submit(session, actor, lease["assignment_id"], f.VALID_RESPONSE[task_type], SETTINGS)
    assert done["state"] == "submitted" and done["response"]


def test_preference_presentation_is_shuffled_and_recorded(session):
    p = f.project(session, "preference", overlap=1)
    f.items(session, p["id"], "preference", 40)
    actor = f.trainer_actor(f.expert(session))
    firsts = []
    for _ in range(40):
        lease = svc.lease_next(session, actor, p["id"])
        firsts.append(lease["item"]["responses"][0]["index"])
        staff = svc.get_assignment(session, f.ADMIN, lease["assignment_id"])
        assert staff["presentation"]["order"][0] == firsts[-1]
        svc.submit(session, actor, lease["assignment_id"], {"choice": 1}, SETTINGS)
    # both orders occur (probability of a constant order in 40 fair draws: 2 × 2^-40)
    assert set(firsts) == {0, 1}


def test_a_lapsed_lease_submitted_late_never_overruns_the_budget(session):
    """$60/h, 10-minute cap: each lease reserves $10; budget $20 and overlap 3 on one item. A's
    lease lapses, B and C take their two leases and spend the budget; A's late submit, with an
    hour of active time recorded, must be refused (its reservation was released), not paid."""
    from sqlalchemy import update

    from expertloop.storage.orm import Assignment

    p = f.project(session, "label", budget_usd="20.00", max_minutes_per_task=10, overlap=3, lease_minutes=10)
    f.items(session, p["id"], "label", 1)
    a, b, c = (f.trainer_actor(f.expert(session, hourly_rate_usd="60.00")) for _ in range(3))
    t0 = utcnow()
    la = svc.lease_next(session, a, p["id"], now=t0)
    uow.run_write(session, lambda: session.execute(
        update(Assignment).where(Assignment.id == la["assignment_id"]).values(active_seconds=3600.0)))
    later = t0 + timedelta(minutes=11)  # A's lease has lapsed: its $10 is no longer held back
    lb = svc.lease_next(session, b, p["id"], now=later)
    lc = svc.lease_next(session, c, p["id"], now=later)
    uow.run_write(session, lambda: session.execute(  # B and C work their full 10 minutes
        update(Assignment).where(Assignment.id.in_([lb["assignment_id"], lc["assignment_id"]]))
        .values(active_seconds=3600.0)))
    for actor, lease in ((b, lb), (c, lc)):
        svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, SETTINGS,
                   now=later + timedelta(minutes=10))
    with pytest.raises(BudgetExhausted, match="no longer covers"):
        svc.submit(session, a, la["assignment_id"], {"label": "no"}, SETTINGS, now=later + timedelta(minutes=11))
    with pytest.raises(BudgetExhausted):
        svc.heartbeat(session, a, la["assignment_id"], SETTINGS, now=later + timedelta(minutes=11))
    project = svc.load_visible(session, f.ADMIN, lb["assignment_id"])[2]
    from expertloop.storage import repositories as repo

    with uow.read(session):
        assert repo.project_spent_cents(session, project.id) == 2000  # exactly the budget, never above


def test_a_late_submit_the_budget_still_covers_is_paid_at_most_its_reservation(session):
    from sqlalchemy import update

    from expertloop.storage.orm import Assignment

    p = f.project(session, "label", budget_usd="100.00", max_minutes_per_task=10, overlap=1, lease_minutes=10)
    f.items(session, p["id"], "label", 1)
    a = f.trainer_actor(f.expert(session, hourly_rate_usd="60.00"))
    t0 = utcnow()
    la = svc.lease_next(session, a, p["id"], now=t0)
    uow.run_write(session, lambda: session.execute(
        update(Assignment).where(Assignment.id == la["assignment_id"]).values(active_seconds=7200.0)))
    done = svc.submit(session, a, la["assignment_id"], {"label": "no"}, SETTINGS, now=t0 + timedelta(minutes=30))
    assert done["earned_usd"] == "10.00"  # the 10-minute cap at $60/h: what the lease reserved
