"""Adaptive gold, adaptive overlap, escalation to a senior tier and cost-aware routing."""

from __future__ import annotations

import json
import random

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied
from expertloop.services import assignments as svc
from expertloop.services import oversight, routing, uow
from expertloop.storage.orm import Item
from tests import factories as f

TIERS = [{"name": "generalist", "requirements": {}, "hourly_rate_usd": "40.00"},
         {"name": "specialist", "requirements": {"min_degree": "phd"}, "hourly_rate_usd": "200.00"}]


def _judge(session, actor, project_id, label_for):
    lease = svc.lease_next(session, actor, project_id)
    if lease is None:
        return None
    svc.submit(session, actor, lease["assignment_id"], {"label": label_for(lease)}, Settings())
    f.run_jobs(session)  # the worker refits the stored consensus between judgments
    return lease


def test_adaptive_gold_mixes_gold_in_at_the_trainer_rate_and_looks_the_same(session, monkeypatch):
    p = f.project(session, "label", overlap=1, gold_rate={"start": 0.5, "floor": 0.5, "evidence": 10})
    f.items(session, p["id"], "label", 30)
    from expertloop.services.imports import import_items
    import_items(session, f.ADMIN, p["id"], [(i + 1, {"external_id": f"g{i}", "text": f"Text g{i}", "gold": "yes"})
                                             for i in range(30)])
    monkeypatch.setattr(svc, "_rng", random.Random(3))
    actor = f.trainer_actor(f.expert(session))
    kinds, shapes = [], set()
    for _ in range(40):
        lease = _judge(session, actor, p["id"], lambda lease: "yes")
        kinds.append(f.staff_item(session, lease)["external_id"].startswith("g"))
        body = {k: v for k, v in lease.items() if k not in ("assignment_id", "leased_at", "lease_expires_at")}
        shapes.add((tuple(sorted(body)), tuple(sorted(body["item"]))))
        assert "gold" not in json.dumps(lease)
    assert len(shapes) == 1  # gold and regular leases have exactly the same fields
    assert 10 <= sum(kinds) <= 30  # about half are gold at rate 0.5
    # the gold pool is not limited by overlap: a second trainer also gets gold
    other = f.trainer_actor(f.expert(session))
    got = []
    while (lease := _judge(session, other, p["id"], lambda lease: "yes")) is not None:
        got.append(f.staff_item(session, lease)["external_id"])
    assert any(x.startswith("g") for x in got) and any(not x.startswith("g") for x in got)


def test_gold_rate_falls_as_evidence_grows():
    from expertloop.domain.routing import GoldPolicy
    policy = GoldPolicy(start=0.2, floor=0.05, evidence=20)
    assert policy.rate(0) == 0.2 and policy.rate(20) == 0.05 and policy.rate(100) == 0.05
    assert 0.05 < policy.rate(10) < 0.2


def test_gold_is_never_served_alone_when_regular_work_runs_out(session, monkeypatch):
    p = f.project(session, "label", overlap=1, gold_rate={"start": 0.0, "floor": 0.0, "evidence": 1})
    f.items(session, p["id"], "label", 1)
    from expertloop.services.imports import import_items
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": "g0", "text": "G", "gold": "yes"})])
    actor = f.trainer_actor(f.expert(session))
    assert f.staff_item(session, _judge(session, actor, p["id"], lambda lease: "no"))["external_id"] == "label-0"
    assert svc.lease_next(session, actor, p["id"]) is None


def test_adaptive_overlap_stops_agreeing_items_early_and_asks_more_on_disagreement(session):
    p = f.project(session, "label", overlap={"min": 2, "max": 4, "target_confidence": 0.9})
    f.items(session, p["id"], "label", 6)
    experts = [f.trainer_actor(f.expert(session)) for _ in range(5)]
    # item label-0..4 everyone says "yes"; item label-5 trainers disagree
    def label_for(lease):
        if f.staff_item(session, lease)["external_id"] != "label-5":
            return "yes"
        return random.Random(lease["assignment_id"]).choice(["yes", "no"])
    for actor in experts:
        while _judge(session, actor, p["id"], label_for):
            pass
    with uow.read(session):
        items = {i.external_id: i for i in session.query(Item).filter(Item.project_id == p["id"])}
    assert all(items[f"label-{k}"].done_count == 2 for k in range(5))  # agreed: stopped at min
    assert items["label-5"].done_count > 2 or items["label-5"].confidence >= 0.9
    history = oversight.item_history(session, f.ADMIN, items["label-0"].id)
    decisions = [e["detail"]["decision"] for e in history["events"] if e["kind"] == "decided"]
    assert decisions == ["more", "done"]


def test_items_in_doubt_at_max_escalate_to_the_senior_tier_only(session):
    p = f.project(session, "label", overlap={"min": 2, "max": 2, "target_confidence": 0.99},
                  tiers=TIERS, escalation_tier="specialist")
    f.items(session, p["id"], "label", 1)
    juniors = [f.trainer_actor(f.expert(session, degree="master")) for _ in range(3)]
    senior = f.trainer_actor(f.expert(session, degree="phd"))
    _judge(session, juniors[0], p["id"], lambda lease: "yes")
    _judge(session, juniors[1], p["id"], lambda lease: "no")
    with uow.read(session):
        item = session.query(Item).filter(Item.project_id == p["id"]).one()
    assert item.required_tier == "specialist" and item.target_overlap == 3
    assert svc.lease_next(session, juniors[2], p["id"]) is None  # a generalist cannot take it
    assert _judge(session, senior, p["id"], lambda lease: "yes") is not None
    history = oversight.item_history(session, f.ADMIN, item.id)
    assert [e["kind"] for e in history["events"]].count("escalated") == 1
    notes = oversight.notifications(session, f.ADMIN, p["id"])
    assert any(n["kind"] == "item_escalated" for n in notes)


def test_factcheck_disagreement_escalates(session):
    p = f.project(session, "factcheck", overlap=2, tiers=TIERS)
    f.items(session, p["id"], "factcheck", 1)
    a, b = (f.trainer_actor(f.expert(session, degree="master")) for _ in range(2))
    for actor, verdict in ((a, "supported"), (b, "refuted")):
        lease = svc.lease_next(session, actor, p["id"])
        svc.submit(session, actor, lease["assignment_id"], {"claims": [
            {"verdict": "supported", "evidence": []}, {"verdict": verdict, "evidence": []}]}, Settings())
    with uow.read(session):
        item = session.query(Item).filter(Item.project_id == p["id"]).one()
    assert item.required_tier == "specialist" and item.target_overlap == 3
    events = oversight.item_history(session, f.ADMIN, item.id)["events"]
    assert any(e["kind"] == "escalated" and e["detail"]["claims"] == [1] for e in events)


def test_project_definition_checks_routing_policies(session):
    from expertloop.domain.errors import ValidationFailed
    with pytest.raises(ValidationFailed) as exc:
        f.project(session, "label", overlap={"min": 3, "max": 2, "target_confidence": 2},
                  gold_rate={"start": 2}, tiers=[{"name": "a"}, {"name": "a"}], escalation_tier="z")
    locs = {p.loc for p in exc.value.problems}
    assert {"overlap.max", "overlap.target_confidence", "gold_rate.start", "tiers", "escalation_tier"} <= locs


def test_trainers_do_not_see_gold_policy_or_floor(client, session):
    p = f.project(session, "label", gold_rate={"start": 0.2, "floor": 0.05, "evidence": 20},
                  quality_floor={"gold_accuracy": 0.7, "min_gold": 10})
    e = f.expert(session)
    body = client.get(f"/api/v1/projects/{p['id']}", headers=f.auth(f.token(session, "trainer", e["id"]))).json()
    assert "gold_rate" not in body and "quality_floor" not in body
    staff = client.get(f"/api/v1/projects/{p['id']}", headers=f.auth(f.token(session, "admin"))).json()
    assert staff["gold_rate"]["start"] == 0.2


def test_claim_plan_puts_gold_first_at_the_rate(session):
    p = f.project(session, "label", gold_rate={"start": 1.0, "floor": 1.0, "evidence": 5})
    from expertloop.storage.orm import Expert, Project
    e = f.expert(session)
    with uow.read(session):
        plan = routing.claim_plan(session, session.get(Project, p["id"]), session.get(Expert, e["id"]),
                                  random.Random(0))
    assert [q.gold for q in plan] == [True, False]
    with pytest.raises(PermissionDenied):
        svc.lease_next(session, f.trainer_actor(f.expert(session, status="paused")), p["id"])


def test_factcheck_escalation_matches_corrected_claims(session):
    """A trainer who deleted the first proposed claim shifts the others: verdicts are compared per
    claim (kept claims by number), so agreeing trainers do not escalate, and disagreeing ones name
    the claim they disagree on."""
    p = f.project(session, "factcheck", overlap=2, tiers=TIERS)
    f.items(session, p["id"], "factcheck", 2)  # claims: "Paris is in France.", "The sun is cold."
    a, b = (f.trainer_actor(f.expert(session, degree="master")) for _ in range(2))
    plain = {"claims": [{"verdict": "refuted"}, {"verdict": "refuted"}]}
    dropped_first = {"claims": [{"text": "The sun is cold.", "verdict": "refuted"}]}
    disagrees = {"claims": [{"text": "The sun is cold.", "verdict": "supported"}]}
    for actor, responses in ((a, [plain, plain]), (b, [dropped_first, disagrees])):
        for response in responses:
            lease = svc.lease_next(session, actor, p["id"])
            svc.submit(session, actor, lease["assignment_id"], response, Settings())
    with uow.read(session):
        items = session.query(Item).filter(Item.project_id == p["id"]).order_by(Item.id).all()
    assert [i.required_tier for i in items] == [None, "specialist"]
    events = oversight.item_history(session, f.ADMIN, items[1].id)["events"]
    assert any(e["kind"] == "escalated" and e["detail"]["claims"] == [1] for e in events)
