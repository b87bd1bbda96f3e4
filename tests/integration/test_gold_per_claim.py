"""Fact-check gold earns partial credit per claim, in the quality floor and the scorecards."""

from __future__ import annotations

from sqlalchemy import select

from expertloop.config import Settings
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.services.imports import import_items
from expertloop.services.quality import project_quality
from expertloop.storage.orm import ProjectPause
from tests import factories as f


def test_half_right_claims_are_half_credit_not_zero(session):
    p = f.project(session, "factcheck", overlap=2, quality_floor={"gold_accuracy": 0.3, "min_gold": 10})
    import_items(session, f.ADMIN, p["id"], [(i + 1, {**f.item_for("factcheck", i), "gold": ["supported", "refuted"]})
                                             for i in range(10)])
    half, wrong = f.expert(session, name="Half Right"), f.expert(session, name="All Wrong")
    for e, verdicts in ((half, ["supported", "supported"]), (wrong, ["refuted", "supported"])):
        actor = f.trainer_actor(e)
        for _ in range(10):
            lease = svc.lease_next(session, actor, p["id"])
            if lease is None:
                break
            svc.submit(session, actor, lease["assignment_id"], {"claims": [{"verdict": v} for v in verdicts]},
                       Settings())
    with uow.read(session):
        paused = set(session.execute(select(ProjectPause.expert_id)
                                     .where(ProjectPause.project_id == p["id"])).scalars())
    # 5/10 has a 95% upper bound near 0.76, above the floor; all-or-nothing scoring read it as 0/10 (0.28)
    assert paused == {wrong["id"]}
    cards = {c["name"]: c for c in project_quality(session, f.ADMIN, p["id"], n_boot=0)["trainers"]}
    assert cards["Half Right"]["gold"]["answered"] == 10 and cards["Half Right"]["gold"]["accuracy"] == 0.5
    assert cards["All Wrong"]["gold"]["accuracy"] == 0.0
