"""People's work on a real database: payroll to the cent, review assignment by sampling, blind
re-tests, and a gold dispute that corrects gold and every score that used it."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as work
from expertloop.services import audit, payroll, retests, review_tasks, standing, uow
from expertloop.services.exports import iter_records
from expertloop.services.imports import import_items
from expertloop.services.quality import project_quality
from expertloop.services.reports import stored_report
from expertloop.storage.orm import Assignment, Item, LedgerEntry, ReviewTask
from tests import factories as f

SETTINGS = Settings(heartbeat_idle_seconds=3600)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class AlwaysRetest(random.Random):
    """A generator whose draws for "retest now?" always say yes; shuffles stay random."""

    def random(self) -> float:
        return 0.0

    def getrandbits(self, k: int) -> int:
        return super().getrandbits(k)


def _item_of(session, view: dict) -> int:
    """The item behind an assignment, as staff see it (a trainer's view names no item)."""
    return work.get_assignment(session, f.ADMIN, view["assignment_id"])["item"]["id"]


def _do(session, expert, project_id, response, at, seconds):
    a = work.lease_next(session, f.trainer_actor(expert), project_id, now=at)
    assert a is not None
    return work.submit(session, f.trainer_actor(expert), a["assignment_id"], response, SETTINGS,
                       now=at + timedelta(seconds=seconds))


def test_payroll_csv_is_exact_to_the_cent_with_bonuses_and_adjustments(session):
    p = f.project(session, "label", hourly_rate_usd="37.50", max_minutes_per_task=5)
    f.items(session, p["id"], "label", 3)
    alice, bob = f.expert(session, name="Alice"), f.expert(session, name="Bob")
    _do(session, alice, p["id"], {"label": "yes"}, T0, 433)        # 7.22 min, capped at 5.00 → $3.13
    _do(session, alice, p["id"], {"label": "no"}, T0 + timedelta(hours=1), 181)   # 3.02 min → $1.89
    _do(session, bob, p["id"], {"label": "yes"}, T0, 61)           # 1.02 min → $0.64
    period = payroll.create_period(session, f.ADMIN, "2026-03", "2026-03-01", "2026-03-31")
    payroll.add_entry(session, f.ADMIN, alice["id"], "bonus", "12,50", "Weekend cover", project_id=p["id"],
                      locale="de-DE", now=T0 + timedelta(days=1))
    payroll.add_entry(session, f.ADMIN, alice["id"], "adjustment", "-0.10", "Duplicate minute",
                      now=T0 + timedelta(days=2))
    with pytest.raises(ValidationFailed, match="ambiguous"):  # no locale declared: never guessed as 12.50
        payroll.add_entry(session, f.ADMIN, bob["id"], "bonus", "12,50", "x", now=T0)
    with pytest.raises(ValidationFailed, match="reason"):
        payroll.add_entry(session, f.ADMIN, bob["id"], "bonus", "1.00", "  ", now=T0)
    with pytest.raises(PermissionDenied):
        payroll.add_entry(session, f.trainer_actor(bob), bob["id"], "bonus", "1.00", "me", now=T0)
    with pytest.raises(Conflict, match="overlaps"):
        payroll.create_period(session, f.ADMIN, "late March", "2026-03-20", "2026-04-05")

    data = payroll.payroll(session, f.ADMIN, period["id"])
    rows = list(csv.DictReader(io.StringIO(payroll.payroll_csv(data))))
    assert [(r["name"], r["tasks"], r["paid_minutes"], r["earnings_usd"], r["bonuses_usd"], r["adjustments_usd"],
             r["total_usd"]) for r in rows] == [
        ("Alice", "2", "8.02", "5.02", "12.50", "-0.10", "17.42"),
        ("Bob", "1", "1.02", "0.64", "0.00", "0.00", "0.64")]
    assert data["total_usd"] == "18.06"

    st = payroll.statement(session, f.trainer_actor(alice), alice["id"], period["id"])
    first = st["lines"][0]
    assert (first["active_minutes"], first["cap_minutes"], first["paid_minutes"], first["capped"],
            first["rate_usd"], first["amount_usd"]) == ("7.22", 5, "5.00", True, "37.50", "3.13")
    assert [(x["kind"], x["amount_usd"], x["reason"]) for x in st["lines"][2:]] == [
        ("bonus", "12.50", "Weekend cover"), ("adjustment", "-0.10", "Duplicate minute")]
    assert st["total_usd"] == "17.42" and st["hourly_rate_usd"] == "120.00"
    lines = list(csv.reader(io.StringIO(payroll.statement_csv(st))))
    assert lines[-1][-2] == "17.42" and len(lines) == 1 + 4 + 1
    with pytest.raises(PermissionDenied):
        payroll.statement(session, f.trainer_actor(bob), alice["id"], period["id"])

    logged = audit.list_entries(session, f.ADMIN, action="pay.")
    assert [(e["action"], e["detail"].get("amount_usd"), e["detail"].get("reason")) for e in reversed(logged)] == [
        ("pay.period_created", None, None), ("pay.bonus_added", "12.50", "Weekend cover"),
        ("pay.adjusted", "-0.10", "Duplicate minute")]
    payroll.close_period(session, f.ADMIN, period["id"])
    with pytest.raises(Conflict, match="closed"):
        payroll.add_entry(session, f.ADMIN, bob["id"], "bonus", "1.00", "late", now=T0 + timedelta(days=3))


def test_earnings_after_a_close_land_in_the_next_open_period(session):
    """A period closed early keeps its totals: a task submitted on a day it covers is paid in
    the next period (closed ones in between are skipped), never in the closed one."""
    p = f.project(session, "label", hourly_rate_usd="60.00")
    f.items(session, p["id"], "label", 3)
    ann = f.expert(session, name="Ann")
    march = payroll.create_period(session, f.ADMIN, "2026-03", "2026-03-01", "2026-03-31")
    _do(session, ann, p["id"], {"label": "yes"}, T0, 60)
    payroll.close_period(session, f.ADMIN, march["id"])
    before = payroll.payroll(session, f.ADMIN, march["id"])
    _do(session, ann, p["id"], {"label": "no"}, T0 + timedelta(days=5), 120)   # still in March
    assert payroll.payroll(session, f.ADMIN, march["id"]) == before            # closed totals unchanged
    april = payroll.create_period(session, f.ADMIN, "2026-04", "2026-04-01", "2026-04-30")
    assert [r["earnings_usd"] for r in payroll.payroll(session, f.ADMIN, april["id"])["rows"]] == ["2.00"]
    # April closed as well: a late March submit skips both and waits for the next period.
    payroll.close_period(session, f.ADMIN, april["id"])
    _do(session, ann, p["id"], {"label": "yes"}, T0 + timedelta(days=6), 60)
    may = payroll.create_period(session, f.ADMIN, "2026-05", "2026-05-01", "2026-05-31")
    assert [r["earnings_usd"] for r in payroll.payroll(session, f.ADMIN, may["id"])["rows"]] == ["1.00"]
    assert payroll.payroll(session, f.ADMIN, march["id"]) == before


def _sampled_project(session, **sampling):
    p = f.project(session, "label", review_sampling={"rate": 0.0, "new_rate": 1.0, "new_until": 1,
                                                     "flagged_rate": 0.0, "level2_rate": 1.0, **sampling})
    f.items(session, p["id"], "label", 4)
    return p


def test_review_assignment_by_sampling_leases_blind_and_level_two_overturns(session):
    p = _sampled_project(session)
    trainer = f.expert(session, name="Tess Trainer")
    r1, r2, r3 = (f.expert(session, name=f"Reviewer {i}") for i in (1, 2, 3))
    rev = [Actor(role=Role.reviewer, expert_id=r["id"]) for r in (r1, r2, r3)]
    first = _do(session, trainer, p["id"], {"label": "yes"}, T0, 60)   # new: sampled at new_rate 1.0
    _do(session, trainer, p["id"], {"label": "no"}, T0 + timedelta(minutes=5), 60)  # no longer new: rate 0
    with uow.read(session):
        tasks = session.query(ReviewTask).all()
    assert [(t.assignment_id, t.level, t.reason) for t in tasks] == [(first["assignment_id"], 1, "new")]
    assert review_tasks.my_queue(session, rev[0], now=T0)["waiting"] == 1
    # The trainer never reviews their own work.
    own = Actor(role=Role.reviewer, expert_id=trainer["id"])
    assert review_tasks.next_review(session, own, now=T0) is None

    got = review_tasks.next_review(session, rev[0], now=T0)
    assert got["assignment_id"] == first["assignment_id"] and got["level"] == 1
    assert got["expert_name"] == "Tess Trainer" and "earlier_reviews" not in got
    # Leased: nobody else gets it while the lease is live; a lapsed lease goes to the next reviewer.
    assert review_tasks.next_review(session, rev[1], now=T0 + timedelta(minutes=1)) is None
    later = T0 + timedelta(minutes=p["lease_minutes"] + 1)
    taken = review_tasks.next_review(session, rev[1], now=later)
    assert taken["review_task_id"] == got["review_task_id"]
    with pytest.raises(PermissionDenied, match="not assigned to you"):
        review_tasks.submit_review(session, rev[0], got["review_task_id"], "accept", now=later)
    done = review_tasks.submit_review(session, rev[1], taken["review_task_id"], "accept", "Fine.", now=later,
                                      rng=random.Random(1))
    assert done["outcome"] == "accepted" and done["earlier_reviews"] == []

    # Level 2 (level2_rate 1.0): blind to level 1, and not for the level-1 reviewer.
    assert review_tasks.next_review(session, rev[1], now=later) is None
    l2 = review_tasks.next_review(session, rev[2], now=later)
    assert l2["level"] == 2 and l2["state"] == "submitted" and "review_feedback" not in l2
    with uow.read(session):
        before = session.get(Item, _item_of(session, first)).done_count
    out = review_tasks.submit_review(session, rev[2], l2["review_task_id"], "reject", "Label is wrong.", now=later)
    assert out["outcome"] == "rejected"
    assert out["earlier_reviews"] == [{"level": 1, "verdict": "accept", "feedback": "Fine.",
                                       "reviewer_id": r2["id"]}]
    with uow.read(session):
        assert session.get(Item, _item_of(session, first)).done_count == before - 1  # the slot reopened
    card = next(c for c in project_quality(session, f.ADMIN, p["id"], n_boot=10)["trainers"]
                if c["expert_id"] == trainer["id"])
    assert card["reviews"] == {"reviewed": 1, "accepted": 0, "edited": 0, "rejected": 1}
    with pytest.raises(PermissionDenied):
        review_tasks.next_review(session, f.trainer_actor(trainer), now=later)


def test_flagged_trainers_are_sampled_at_their_rate(session):
    p = _sampled_project(session, new_rate=0.0, new_until=0, flagged_rate=1.0, level2_rate=0.0)
    trainer, reviewer = f.expert(session), f.expert(session)
    a = _do(session, trainer, p["id"], {"label": "yes"}, T0, 30)
    with uow.read(session):
        assert session.query(ReviewTask).count() == 0
    # A manager rejects that judgment directly: the trainer is flagged from then on.
    from expertloop.services.reviews import review
    review(session, f.ADMIN, a["assignment_id"], "reject", "No.")
    _do(session, trainer, p["id"], {"label": "yes"}, T0 + timedelta(minutes=3), 30)
    with uow.read(session):
        assert [t.reason for t in session.query(ReviewTask).all()] == ["flagged"]
    assert review_tasks.next_review(session, Actor(role=Role.reviewer, expert_id=reviewer["id"]), now=T0) is not None


def test_retest_is_served_blind_paid_and_never_counted_or_exported_twice(session, monkeypatch):
    p = f.project(session, "preference", retest_rate=0.5, retest_after_hours=2, overlap=1)
    f.items(session, p["id"], "preference", 3)
    e = f.expert(session)
    actor = f.trainer_actor(e)
    first = _do(session, e, p["id"], {"choice": 0, "strength": 2}, T0, 60)
    first_item = _item_of(session, first)
    monkeypatch.setattr(work, "_rng", AlwaysRetest(7))
    # Too soon: nothing is due, the ordinary queue serves the next item.
    normal = work.lease_next(session, actor, p["id"], now=T0 + timedelta(minutes=5))
    assert _item_of(session, normal) != first_item
    work.release(session, actor, normal["assignment_id"], now=T0 + timedelta(minutes=6))

    at = T0 + timedelta(hours=3)
    again = work.lease_next(session, actor, p["id"], now=at)
    assert _item_of(session, again) == first_item
    assert set(again) == set(normal) and "retest" not in str(sorted(again))  # unmarked
    # Nothing in the trainer's view links the re-test to the first answer: no item id, no
    # external id, no earlier assignment id; the item carries the same keys as a fresh one.
    assert set(again["item"]) == set(normal["item"]) and not {"id", "external_id"} & set(again["item"])
    with uow.read(session):
        external = session.get_one(Item, first_item).external_id
    assert external not in str(again) and again["assignment_id"] != first["assignment_id"]
    assert not {"retest_of", "presentation"} & set(again)
    with uow.read(session):
        orig = session.get(Assignment, first["assignment_id"])
        redo = session.get(Assignment, again["assignment_id"])
        assert redo.retest_of == orig.id and redo.presentation["order"] != orig.presentation["order"]
        done_before = session.get(Item, first_item).done_count
    shown = [r["index"] for r in again["item"]["responses"]]
    assert shown == redo.presentation["order"]
    out = work.submit(session, actor, again["assignment_id"], {"choice": 0, "strength": 2}, SETTINGS,
                      now=at + timedelta(seconds=90))
    assert out["state"] == "submitted" and out["earned_usd"] == "3.00"     # paid like any task, unmarked
    with uow.read(session):
        assert session.get(Item, first_item).done_count == done_before   # never counted
        assert session.query(LedgerEntry).filter_by(assignment_id=again["assignment_id"]).one().amount_cents == 300
    records = list(iter_records(session, f.ADMIN, p["id"], "raw"))
    assert [r["metadata"]["assignment_id"] for r in records] == [first["assignment_id"]]   # exported once
    # Each item is re-tested once at most: the next due lease is ordinary work.
    nxt = work.lease_next(session, actor, p["id"], now=at + timedelta(hours=1))
    assert _item_of(session, nxt) != first_item
    assert retests.retest_pairs(session, p["id"], e["id"])[0][1] == first_item
    card = next(c for c in project_quality(session, f.ADMIN, p["id"], n_boot=10)["trainers"]
                if c["expert_id"] == e["id"])
    assert card["judgments"] == 1
    assert card["retest"] == {"pairs": 1, "agreement": 1.0, "low": card["retest"]["low"], "high": 1.0}
    assert 0 < card["retest"]["low"] < 1
    mine = standing.standing(session, actor, e["id"], p["id"])
    assert mine["retest"]["pairs"] == 1


def test_upheld_dispute_corrects_gold_and_rescoring(session):
    p = f.project(session, "label", overlap=2)
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": "g1", "text": "Is water wet?", "gold": "no"}),
                                             (2, {"external_id": "g2", "text": "Sky blue?", "gold": "yes"})])
    ann, ben = f.expert(session, name="Ann"), f.expert(session, name="Ben")
    for e in (ann, ben):
        for n in range(2):
            a = work.lease_next(session, f.trainer_actor(e), p["id"], now=T0)
            work.submit(session, f.trainer_actor(e), a["assignment_id"], {"label": "yes"}, SETTINGS,
                        now=T0 + timedelta(seconds=30 + n))
    f.run_jobs(session)
    before = {c["expert_id"]: c["gold"]["accuracy"] for c in stored_report(session, f.ADMIN, p["id"])["trainers"]}
    assert before == {ann["id"]: 0.5, ben["id"]: 0.5}

    mine = standing.standing(session, f.trainer_actor(ann), ann["id"], p["id"])
    missed = [g for g in mine["gold"]["items"] if g["missed"]]
    assert len(missed) == 1 and missed[0]["expected"] is None   # the item is still in the gold pool
    staff_view = standing.standing(session, f.ADMIN, ann["id"], p["id"])
    assert [g["expected"] for g in staff_view["gold"]["items"] if g["missed"]] == [{"label": "no"}]
    assert missed[0]["your_answer"] == {"label": "yes"}
    with pytest.raises(PermissionDenied):
        standing.standing(session, f.trainer_actor(ben), ann["id"], p["id"])
    with pytest.raises(NotFound):  # only one's own work can be disputed
        standing.open_dispute(session, f.trainer_actor(ben), missed[0]["assignment_id"], "wrong")
    d = standing.open_dispute(session, f.trainer_actor(ann), missed[0]["assignment_id"],
                              "Water makes things wet; whether it is itself wet is the textbook yes.")
    assert d["state"] == "open" and "old_gold" not in d
    with pytest.raises(Conflict):
        standing.open_dispute(session, f.trainer_actor(ann), missed[0]["assignment_id"], "again")
    with pytest.raises(PermissionDenied):
        standing.decide_dispute(session, f.trainer_actor(ann), d["id"], "uphold", gold="yes")
    with pytest.raises(ValidationFailed, match="gold"):
        standing.decide_dispute(session, f.ADMIN, d["id"], "uphold")

    decided = standing.decide_dispute(session, f.ADMIN, d["id"], "uphold", gold="yes", note="Agreed.")
    assert decided["state"] == "upheld" and decided["old_gold"] == {"label": "no"}
    assert decided["new_gold"] == {"label": "yes"}
    assert {r["expert_id"]: r["gold_accuracy"] for r in decided["rescored"]} == {ann["id"]: 1.0, ben["id"]: 1.0}
    with uow.read(session):
        assert session.get(Item, missed[0]["item_id"]).gold == {"label": "yes"}
    changed = audit.list_entries(session, f.ADMIN, action="gold.changed")
    assert changed[0]["target"] == f"item:{missed[0]['item_id']}" and changed[0]["detail"]["old"] == {"label": "no"}
    assert f.run_jobs(session) >= 1   # the refit job recomputes the stored report
    after = {c["expert_id"]: c["gold"]["accuracy"] for c in stored_report(session, f.ADMIN, p["id"])["trainers"]}
    assert after == {ann["id"]: 1.0, ben["id"]: 1.0}
    mine = standing.standing(session, f.trainer_actor(ann), ann["id"], p["id"])
    assert mine["gold"]["accuracy"] == 1.0 and mine["disputes"][0]["state"] == "upheld"


def test_quality_floor_on_retest_agreement_pauses_an_inconsistent_trainer(session, monkeypatch):
    p = f.project(session, "label", retest_rate=0.5, retest_after_hours=0,
                  quality_floor={"retest_agreement": 0.9, "min_retests": 3})
    assert p["quality_floor"]["retest_agreement"] == 0.9
    f.items(session, p["id"], "label", 5)
    e = f.expert(session)
    actor = f.trainer_actor(e)
    monkeypatch.setattr(work, "_rng", AlwaysRetest(5))
    at = T0
    for n in range(6):   # first answers and their re-tests alternate: yes, then no the second time
        a = work.lease_next(session, actor, p["id"], now=at)
        with uow.read(session):
            is_retest = session.get(Assignment, a["assignment_id"]).retest_of is not None
        assert is_retest == (n % 2 == 1)
        work.submit(session, actor, a["assignment_id"], {"label": "no" if is_retest else "yes"}, SETTINGS,
                    now=at + timedelta(seconds=20))
        at += timedelta(minutes=1)
    with pytest.raises(PermissionDenied, match="paused"):
        work.lease_next(session, actor, p["id"], now=at)
    from expertloop.services.oversight import list_pauses
    assert "re-test agreement 0% over 3 re-tests" in list_pauses(session, f.ADMIN, p["id"])[0]["reason"]
    with pytest.raises(ValidationFailed, match="re-test"):
        f.project(session, "sft", quality_floor={"retest_agreement": 0.8})


def test_an_upheld_dispute_lifts_the_gold_floor_pause_that_rested_on_the_wrong_gold(session):
    """A trainer paused by the gold floor because of wrong gold disputes it; upheld, their gold
    record is read afresh and the pause lifted (a paused trainer submits nothing, so nothing
    else would ever read it again)."""
    p = f.project(session, "label", overlap=2, quality_floor={"gold_accuracy": 0.9, "min_gold": 2})
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": "g1", "text": "Wet?", "gold": "no"}),
                                             (2, {"external_id": "g2", "text": "Dry?", "gold": "no"}),
                                             (3, {"external_id": "x", "text": "More"})])
    ann, bob = f.expert(session, name="Ann"), f.expert(session, name="Bob")
    done = {}
    for e in (ann, bob):
        for _ in range(2):
            a = _do(session, e, p["id"], {"label": "yes"}, T0, 30)
            done.setdefault(e["id"], []).append(a["assignment_id"])
    with pytest.raises(PermissionDenied):   # both paused: 0 of 2 gold right
        work.lease_next(session, f.trainer_actor(ann), p["id"], now=T0 + timedelta(minutes=5))
    d = standing.open_dispute(session, f.trainer_actor(ann), done[ann["id"]][0], "It is wet, so yes.")
    out = standing.decide_dispute(session, f.ADMIN, d["id"], "uphold", gold="yes", note="Right.")
    assert {r["expert_id"]: r["pause_lifted"] for r in out["rescored"]} == {ann["id"]: True, bob["id"]: True}
    assert work.lease_next(session, f.trainer_actor(ann), p["id"], now=T0 + timedelta(minutes=6)) is not None
    mine = standing.standing(session, f.trainer_actor(ann), ann["id"], p["id"])
    assert [fl["outcome"] for fl in mine["flags"] if fl["kind"] == "paused"] == ["lifted"]
    assert [e["action"] for e in audit.list_entries(session, f.ADMIN, action="pause.lifted")] == ["pause.lifted"] * 2
