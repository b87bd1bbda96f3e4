"""The stored consensus fit: a submit reads it (and never refits), queues one refit per
project, the refit job updates it, and every reader sees the stored fit."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from expertloop.config import Settings
from expertloop.domain.projects import TaskType
from expertloop.services import assignments as svc
from expertloop.services import consensus, jobs, uow
from expertloop.services.exports import iter_records
from expertloop.services.quality import project_quality
from expertloop.services.reports import stored_report
from expertloop.storage.orm import ConsensusFit
from tests import factories as f

ADAPTIVE = {"min": 2, "max": 4, "target_confidence": 0.9}


def _submit(session, actor, project_id, label):
    lease = svc.lease_next(session, actor, project_id)
    assert lease is not None
    return svc.submit(session, actor, lease["assignment_id"], {"label": label}, Settings())


def _stored(session, project_id) -> ConsensusFit | None:
    with uow.read(session):
        return session.execute(select(ConsensusFit).where(ConsensusFit.project_id == project_id)).scalar_one_or_none()


def _setup(session, n_items=6, n_trainers=3):
    p = f.project(session, "label", overlap=ADAPTIVE)
    f.items(session, p["id"], "label", n_items)
    return p, [f.trainer_actor(f.expert(session)) for _ in range(n_trainers)]


def test_submits_read_the_stored_fit_and_queue_one_refit(session, monkeypatch):
    p, trainers = _setup(session)

    def no_refit(*_a, **_k):
        raise AssertionError("a submit must not fit the project")

    with monkeypatch.context() as m:  # even the project's first submit fits nothing: the job does
        m.setattr(consensus, "fit_consensus", no_refit)
        _submit(session, trainers[0], p["id"], "yes")
    assert _stored(session, p["id"]) is None
    f.run_jobs(session)
    first = _stored(session, p["id"])
    assert first is not None and first.judgments == 1

    monkeypatch.setattr(consensus, "fit_consensus", no_refit)
    for actor in trainers[1:]:
        _submit(session, actor, p["id"], "yes")
    _submit(session, trainers[0], p["id"], "no")
    assert _stored(session, p["id"]).judgments == 1  # unchanged: submits only read it
    queued = jobs.list_jobs(session, f.ADMIN, project_id=p["id"], state="queued")
    assert len(queued) == 1 and queued[0]["kind"] == "refit_consensus"  # debounced: one for four submits


def test_the_refit_job_updates_the_stored_fit_and_readers_see_it(session):
    p, trainers = _setup(session)
    for actor in trainers:
        _submit(session, actor, p["id"], "yes")
    assert _stored(session, p["id"]) is None  # submits never fit: the queued job will
    assert f.run_jobs(session) == 1
    stored = _stored(session, p["id"])
    assert stored.judgments == 3
    done = jobs.list_jobs(session, f.ADMIN, project_id=p["id"], state="done")
    assert done[0]["result"]["judgments"] == 3 and done[0]["result"]["stored"] is True

    seen = consensus.latest_consensus(session, p["id"], TaskType.label)
    assert isinstance(seen.model, consensus.FittedModel)  # the stored fit, not a new one
    with uow.read(session):
        fresh = consensus.fit_consensus(consensus.project_judgments(session, p["id"], TaskType.label))
    for key in fresh.index:
        assert seen.label(key) == fresh.label(key)
        assert seen.posterior(key) == pytest.approx(fresh.posterior(key))
    assert np.allclose(seen.model.confusions_, fresh.model.confusions_)
    mine, theirs = consensus.trainer_reliability(seen), consensus.trainer_reliability(fresh)
    assert mine.keys() == theirs.keys()
    assert all(mine[t][0] == pytest.approx(theirs[t][0]) and mine[t][1] == theirs[t][1] for t in mine)
    report = project_quality(session, f.ADMIN, p["id"], n_boot=0)
    assert report["consensus"] and all(e["label"] == "yes" for e in report["consensus"])


def test_an_export_asks_for_a_fresh_fit_when_the_stored_one_is_stale(session):
    p, trainers = _setup(session, n_items=1)
    _submit(session, trainers[0], p["id"], "no")
    f.run_jobs(session)
    for actor in trainers[1:]:
        _submit(session, actor, p["id"], "yes")  # the stored fit still says "no"
    assert consensus.latest_consensus(session, p["id"], TaskType.label).label(consensus.key_of(
        _item_id(session, p["id"]), 0)) == "no"
    records = list(iter_records(session, f.ADMIN, p["id"], "label"))
    assert {r["consensus_label"] for r in records} == {"yes"}  # fitted now, on all three


def _item_id(session, project_id) -> int:
    from expertloop.storage.orm import Item

    with uow.read(session):
        return session.execute(select(Item.id).where(Item.project_id == project_id)).scalar_one()


def test_a_consent_withdrawal_drops_the_stored_fit_at_once(session):
    from expertloop.services import consent

    p = f.project(session, "label", overlap=ADAPTIVE, terms="Your answers train models.")
    f.items(session, p["id"], "label", 2)
    trainers = [f.trainer_actor(f.expert(session)) for _ in range(3)]
    for actor in trainers:
        consent.agree(session, actor, p["id"], 1)
        _submit(session, actor, p["id"], "yes")
    f.run_jobs(session)
    assert stored_report(session, f.ADMIN, p["id"]) is not None
    consent.withdraw(session, trainers[0], p["id"])
    assert _stored(session, p["id"]) is None  # no reader sees a fit or report with their work
    assert stored_report(session, f.ADMIN, p["id"]) is None
    seen = consensus.latest_consensus(session, p["id"], TaskType.label)
    assert trainers[0].expert_id not in set(seen.data.experts) and len(seen.data.experts) == 2
    report = project_quality(session, f.ADMIN, p["id"], n_boot=0)
    assert trainers[0].expert_id not in {c["expert_id"] for c in report["trainers"]}
    f.run_jobs(session)
    assert _stored(session, p["id"]).judgments == 2
    assert trainers[0].expert_id not in {c["expert_id"] for c in stored_report(session, f.ADMIN, p["id"])["trainers"]}


def test_a_fit_made_before_a_withdrawal_is_never_stored(session):
    """A refit reads the judgments, fits with no transaction open, then stores: a withdrawal in
    between must not let the withdrawn trainer's work back into the stored fit."""
    from expertloop.services import consent

    p, trainers = _setup(session, n_items=2, n_trainers=2)
    for actor in trainers:
        _submit(session, actor, p["id"], "yes")
    with uow.read(session):
        judgments, last_id = consensus._coverage(session, p["id"])
        fitted = consensus.fit_consensus(consensus.project_judgments(session, p["id"], TaskType.label))
    assert judgments == 2
    consent.withdraw(session, f.ADMIN, p["id"], expert_id=trainers[0].expert_id, reason="asked by email")
    assert _stored(session, p["id"]) is None  # the withdrawal dropped the stored fit
    stored = uow.run_write(session, lambda: consensus.store_fit(session, p["id"], TaskType.label, fitted,
                                                                judgments, last_id))
    assert stored is False and _stored(session, p["id"]) is None
    f.run_jobs(session)  # the refit the withdrawal queued stores the right fit
    row = _stored(session, p["id"])
    assert row is not None and row.judgments == 1


def test_a_fit_on_request_is_not_reused_once_what_it_read_changed_with_the_same_count(session):
    """Before the first stored fit, readers fit on request and keep it for the same judgments.
    A write that changes what the fit reads but not the number of judgments — a gold correction,
    a rejection followed by another submit of an older lease — gives a new fit, never the kept one."""
    from expertloop.services import reviews, standing
    from expertloop.services.imports import import_items

    p = f.project(session, "label", overlap=1)
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": "g", "text": "Wet?", "gold": "no"}),
                                             (2, {"external_id": "a", "text": "A"}),
                                             (3, {"external_id": "b", "text": "B"})])
    ann, ben = (f.trainer_actor(f.expert(session)) for _ in range(2))
    judged = [_submit(session, ann, p["id"], "yes") for _ in range(2)]
    held = svc.lease_next(session, ben, p["id"])       # leased now, submitted later: an older id

    def fit():
        return consensus.latest_consensus(session, p["id"], TaskType.label)

    first = fit()
    assert fit() is first                               # the same judgments: kept, not refitted
    gold_item = next(j for j in judged if f.staff_item(session, j)["external_id"] == "g")
    d = standing.open_dispute(session, ann, gold_item["assignment_id"], "It is wet.")
    standing.decide_dispute(session, f.ADMIN, d["id"], "uphold", gold="yes")
    corrected = fit()
    assert corrected is not first and set(corrected.data.gold.values()) == {"yes"}

    other = next(j for j in judged if j is not gold_item)
    reviews.review(session, f.ADMIN, other["assignment_id"], "reject", feedback="Not so.")
    svc.submit(session, ben, held["assignment_id"], {"label": "no"}, Settings())
    assert len(fit().data.keys) == len(corrected.data.keys)   # as many judgments as before
    assert fit() is not corrected
