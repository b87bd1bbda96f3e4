"""Experiments inside a project: the arm is drawn once per unit, recorded on every assignment,
changes what the arm says (guidelines, pay), reaches the exports, and the report tests it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services import experiments as exp
from expertloop.services import uow
from expertloop.services.exports import iter_records
from expertloop.storage.orm import Assignment, ExperimentUnit, LedgerEntry
from tests import factories as f

GUIDELINES = {"name": "Guidelines v2 against v1", "unit": "item", "arms": [
    {"name": "v1", "kind": "guidelines", "config": {"guidelines": "Old rules.", "version": 1}},
    {"name": "v2", "kind": "guidelines", "config": {"guidelines": "New rules: check dates.", "version": 2}}]}


def _label_project(session, n_items=40, overlap=2):
    p = f.project(session, "label", overlap=overlap)
    records = [(i + 1, {**f.item_for("label", i), "metadata": {"domain": "law" if i % 2 else "history"},
                        **({"gold": {"label": "yes"}} if i < 6 else {})}) for i in range(n_items)]
    from expertloop.services.imports import import_items
    import_items(session, f.ADMIN, p["id"], records)
    return p


def _work(session, actor, project_id, answer):
    views = []
    while lease := svc.lease_next(session, actor, project_id):
        views.append(lease)
        svc.submit(session, actor, lease["assignment_id"], {"label": answer(lease)}, Settings())
    return views


def test_item_randomisation_is_fixed_balanced_by_domain_and_recorded_on_every_assignment(session):
    p = _label_project(session)
    e = exp.create_experiment(session, f.ADMIN, p["id"], GUIDELINES)
    trainers = [f.trainer_actor(f.expert(session)) for _ in range(2)]
    seen = {}
    for t in trainers:
        for view in _work(session, t, p["id"], lambda v: "yes"):
            arm_guidelines = view["guidelines"]
            seen.setdefault(f.staff_item(session, view)["id"], set()).add(arm_guidelines)
    assert all(len(g) == 1 for g in seen.values())  # both trainers of an item saw the same arm
    with uow.read(session):
        units = session.execute(select(ExperimentUnit).where(ExperimentUnit.experiment_id == e["id"])).scalars().all()
        rows = session.execute(select(Assignment).where(Assignment.project_id == p["id"])).scalars().all()
    assert len(units) == 40
    for stratum in ("law", "history"):  # permuted blocks of 4: exactly balanced within each domain
        arms = [u.arm for u in units if u.stratum == stratum]
        assert arms.count("v1") == arms.count("v2") == 10
    arm_of = {u.unit_id: u.arm for u in units}
    assert all(a.experiment_id == e["id"] and a.experiment_arm == arm_of[a.item_id] for a in rows)
    assert {a.guidelines_version for a in rows if a.experiment_arm == "v2"} == {2}
    # exports carry the arm, per judgment and per consensus record
    records = list(iter_records(session, f.ADMIN, p["id"], "label"))
    assert {r["metadata"]["arm"] for r in records} == {"v1", "v2"}
    consensus = list(iter_records(session, f.ADMIN, p["id"], "label", consensus=True))
    assert all(r["metadata"]["arm"] == arm_of[r["metadata"]["item_id"]] for r in consensus)


def test_pay_arm_sets_the_rate_each_judgment_is_paid_at(session):
    p = _label_project(session, n_items=8, overlap=1)
    exp.create_experiment(session, f.ADMIN, p["id"], {"name": "pay", "unit": "trainer", "arms": [
        {"name": "base", "kind": "pay", "config": {"hourly_rate_usd": "40.00"}},
        {"name": "premium", "kind": "pay", "config": {"hourly_rate_usd": "200.00"}}]})
    trainers = [f.trainer_actor(f.expert(session)) for _ in range(4)]
    for t in trainers:
        view = svc.lease_next(session, t, p["id"])
        svc.submit(session, t, view["assignment_id"], {"label": "yes"}, Settings())
    with uow.read(session):
        rows = session.execute(select(Assignment.experiment_arm, LedgerEntry.rate_cents)
                               .join(LedgerEntry, LedgerEntry.assignment_id == Assignment.id)
                               .where(Assignment.project_id == p["id"])).all()
    assert {(arm, rate) for arm, rate in rows} <= {("base", 4000), ("premium", 20000)}
    assert {arm for arm, _ in rows} == {"base", "premium"}  # 4 trainers, one block of 4


def test_report_compares_arms_with_intervals_holm_and_power(session):
    p = _label_project(session, n_items=60, overlap=3)
    exp.create_experiment(session, f.ADMIN, p["id"], GUIDELINES)
    trainers = [f.trainer_actor(f.expert(session)) for _ in range(3)]
    # v2 trainers always give the gold/majority answer; under v1 one trainer in three disagrees
    for i, t in enumerate(trainers):
        _work(session, t, p["id"], lambda v, i=i: "no" if (i == 2 and "Old" in v["guidelines"]) else "yes")
    report = exp.experiment_report(session, f.ADMIN, p["id"])
    arms = {a["arm"]: a for a in report["arms"]}
    assert report["control"] == "v1" and set(arms) == {"v1", "v2"}
    assert arms["v2"]["agreement_with_consensus"]["value"] == 1.0
    assert arms["v1"]["agreement_with_consensus"]["value"] == pytest.approx(2 / 3, abs=0.01)
    lo, hi = arms["v1"]["agreement_with_consensus"]["low"], arms["v1"]["agreement_with_consensus"]["high"]
    assert lo < 2 / 3 < hi
    tests = {(t["arm"], t["outcome"]): t for t in report["tests"]}
    agree = tests[("v2", "agreement_with_consensus")]
    assert agree["estimate"] == pytest.approx(1 / 3, abs=0.01) and agree["low"] > 0 and agree["significant"]
    assert agree["p_holm"] >= agree["p_value"]
    assert tests[("v2", "seconds_per_task")]["effect"] == "ratio"
    assert tests[("v2", "cost_per_item_usd")]["test"] == "bootstrap ratio of means"
    assert report["power"]["needed_per_arm"] > 0 and "3-point difference" in report["power"]["statement"]


def test_bad_definitions_are_refused_with_their_place_and_change_nothing(session):
    p = _label_project(session, n_items=2)
    with pytest.raises(ValidationFailed) as e:
        exp.create_experiment(session, f.ADMIN, p["id"], {"name": "x", "unit": "item", "arms": [
            {"name": "a", "kind": "pay", "config": {"hourly_rate_usd": 40.5}},
            {"name": "a", "kind": "ai_assistance", "config": {"enabled": True}}]})
    text = str(e.value)
    assert "arms[0].config.hourly_rate_usd" in text and "'a' names two arms" in text and "reserved" in text
    with pytest.raises(ValidationFailed, match="unit: trainer"):
        exp.create_experiment(session, f.ADMIN, p["id"], {"name": "pools", "unit": "item", "arms": [
            {"name": "phd", "kind": "pool", "config": {"min_degree": "phd"}},
            {"name": "any", "kind": "pool", "config": {}}]})
    with pytest.raises(NotFound):
        exp.experiment_report(session, f.ADMIN, p["id"])
    trainer = f.trainer_actor(f.expert(session))
    with pytest.raises(PermissionDenied):
        exp.create_experiment(session, trainer, p["id"], GUIDELINES)
    exp.create_experiment(session, f.ADMIN, p["id"], GUIDELINES)
    with pytest.raises(Conflict):
        exp.create_experiment(session, f.ADMIN, p["id"], GUIDELINES)
    exp.stop_experiment(session, f.ADMIN, p["id"])
    from expertloop.services import audit
    actions = [x["action"] for x in audit.list_entries(session, f.ADMIN)]
    assert actions[:2] == ["experiment.stopped", "experiment.started"]  # refused attempts left no entry
    view = svc.lease_next(session, trainer, p["id"])
    assert "guidelines" not in view  # a stopped experiment assigns no arm


def test_pool_arms_follow_trainer_attributes(session):
    p = _label_project(session, n_items=6, overlap=2)
    exp.create_experiment(session, f.ADMIN, p["id"], {"name": "phd vs others", "unit": "trainer", "arms": [
        {"name": "phd", "kind": "pool", "config": {"min_degree": "phd"}},
        {"name": "others", "kind": "pool", "config": {}}]})
    phd = f.trainer_actor(f.expert(session, degree="phd"))
    bachelor = f.trainer_actor(f.expert(session, degree="bachelor"))
    for t in (phd, bachelor):
        svc.submit(session, t, svc.lease_next(session, t, p["id"])["assignment_id"], {"label": "yes"}, Settings())
    with uow.read(session):
        arms = dict(session.execute(select(Assignment.expert_id, Assignment.experiment_arm)
                                    .where(Assignment.project_id == p["id"])).all())
    assert arms == {phd.expert_id: "phd", bachelor.expert_id: "others"}
    assert "not randomised" in exp.experiment_report(session, f.ADMIN, p["id"])["randomisation"]
