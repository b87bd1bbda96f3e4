"""Consent: terms with versions, agreement before work, withdrawal out of every later export."""

from __future__ import annotations

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from expertloop.domain.projects import TaskType
from expertloop.services import assignments as svc
from expertloop.services import consent, oversight, uow
from expertloop.services.consensus import fit_consensus, project_judgments
from expertloop.services.exports import iter_records, pseudonym
from expertloop.storage.orm import Consent, Project
from tests import factories as f

TERMS = "# Terms\n\nYour answers train language models. You may withdraw at any time."


def _label_project(session, overlap=2, items=3):
    p = f.project(session, "label", overlap=overlap, terms=TERMS)
    f.items(session, p["id"], "label", items)
    return p


def _work_all(session, actor, project_id, label="yes") -> list[int]:
    done = []
    while (lease := svc.lease_next(session, actor, project_id)) is not None:
        svc.submit(session, actor, lease["assignment_id"], {"label": label}, Settings())
        done.append(lease["assignment_id"])
    return done


def test_work_needs_agreement_to_the_current_terms(session):
    p = _label_project(session)
    assert p["terms"] == TERMS and p["terms_version"] == 1
    trainer = f.trainer_actor(f.expert(session))
    with pytest.raises(consent.ConsentRequired, match="agree to version 1"):
        svc.lease_next(session, trainer, p["id"])
    mine = consent.my_terms(session, trainer, p["id"])
    assert mine["terms"] == TERMS and mine["terms_version"] == 1 and mine["consent"] is None and not mine["current"]
    with pytest.raises(Conflict, match="not the current terms"):
        consent.agree(session, trainer, p["id"], 2)
    with pytest.raises(ValidationFailed):
        consent.agree(session, trainer, p["id"], "1")
    first = consent.agree(session, trainer, p["id"], 1)
    assert consent.agree(session, trainer, p["id"], 1)["id"] == first["id"]  # agreeing twice changes nothing
    assert consent.my_terms(session, trainer, p["id"])["current"]
    assert len(_work_all(session, trainer, p["id"])) == 3
    records = list(iter_records(session, f.ADMIN, p["id"], "label"))
    assert len(records) == 3 and {r["metadata"]["terms_version"] for r in records} == {1}


def test_projects_without_terms_need_no_consent_and_export_no_version(session):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 1)
    trainer = f.trainer_actor(f.expert(session))
    with pytest.raises(Conflict, match="no terms"):
        consent.agree(session, trainer, p["id"], 1)
    _work_all(session, trainer, p["id"])
    [record] = iter_records(session, f.ADMIN, p["id"], "label")
    assert record["metadata"]["terms_version"] is None


def test_withdrawal_takes_the_work_out_of_every_export_and_the_consensus(session):
    p = _label_project(session)
    stays, leaves = (f.trainer_actor(f.expert(session, name=n)) for n in ("Stays", "Leaves"))
    for actor in (stays, leaves):
        consent.agree(session, actor, p["id"], 1)
    _work_all(session, stays, p["id"], "yes")
    first, second, _ = (svc.lease_next(session, leaves, p["id"]) for _ in range(3))
    assert first["assignment_id"] == second["assignment_id"]  # the held lease comes back
    svc.submit(session, leaves, first["assignment_id"], {"label": "no"}, Settings())
    held = svc.lease_next(session, leaves, p["id"])
    result = consent.withdraw(session, leaves, p["id"], reason="I no longer agree")
    assert result["contributions_removed"] == 1 and result["released_leases"] == 1
    with pytest.raises(consent.ConsentRequired):
        svc.submit(session, leaves, held["assignment_id"], {"label": "no"}, Settings())
    with pytest.raises(consent.ConsentRequired):
        svc.lease_next(session, leaves, p["id"])
    with uow.read(session):
        project = session.get(Project, p["id"])
    gone = pseudonym(project, leaves.expert_id)
    for fmt in ("label", "raw"):
        records = list(iter_records(session, f.ADMIN, p["id"], fmt))
        assert len(records) == 3 and gone not in {r["metadata"]["expert"] for r in records}, fmt
    data = project_judgments(session, p["id"], TaskType.label)
    assert set(data.experts) == {stays.expert_id}
    assert fit_consensus(data).label(data.keys[0]) == "yes"
    # recorded, never deleted; managers are told
    with uow.read(session):
        [kept] = session.query(Consent).filter_by(expert_id=leaves.expert_id).all()
    assert kept.withdrawn_at is not None
    assert kept.withdrawal_reason == "I no longer agree" and kept.withdrawn_by == "expert"
    listed = consent.list_consents(session, f.ADMIN, p["id"])
    assert [(c["expert_name"], c["withdrawn_at"] is not None) for c in listed] == [("Stays", False), ("Leaves", True)]
    notes = oversight.notifications(session, f.ADMIN, p["id"])
    assert notes[0]["kind"] == "consent_withdrawn" and "1 contribution leaves every later export" in notes[0]["message"]
    with pytest.raises(Conflict, match="no consent"):
        consent.withdraw(session, leaves, p["id"])
    # agreeing again covers new work only: the withdrawn judgment stays out
    consent.agree(session, leaves, p["id"], 1)
    assert len(_work_all(session, leaves, p["id"], "yes")) == 1  # the released item; the other two are full
    experts = [r["metadata"]["expert"] for r in iter_records(session, f.ADMIN, p["id"], "label")]
    assert experts.count(gone) == 1 and len(experts) == 4


def test_staff_record_a_withdrawal_on_request_and_experts_only_their_own(session):
    p = _label_project(session, overlap=1, items=1)
    a, b = (f.trainer_actor(f.expert(session)) for _ in range(2))
    consent.agree(session, a, p["id"], 1)
    with pytest.raises(PermissionDenied, match="only their own"):
        consent.withdraw(session, b, p["id"], expert_id=a.expert_id)
    with pytest.raises(ValidationFailed, match="name the expert"):
        consent.withdraw(session, f.ADMIN, p["id"])
    done = consent.withdraw(session, f.ADMIN, p["id"], expert_id=a.expert_id, reason="email of 3 March")
    assert done["withdrawn"][0]["withdrawn_by"] == "admin"
    with pytest.raises(PermissionDenied):
        consent.list_consents(session, a, p["id"])


def test_new_terms_need_agreeing_again_and_old_work_keeps_its_version(session):
    p = _label_project(session, overlap=1, items=2)
    trainer = f.trainer_actor(f.expert(session))
    consent.agree(session, trainer, p["id"], 1)
    lease = svc.lease_next(session, trainer, p["id"])
    svc.submit(session, trainer, lease["assignment_id"], {"label": "yes"}, Settings())
    with pytest.raises(PermissionDenied):
        consent.publish_terms(session, trainer, p["id"], TERMS + " v2")
    with pytest.raises(Conflict, match="already version 1"):
        consent.publish_terms(session, f.ADMIN, p["id"], TERMS)
    with pytest.raises(ValidationFailed):
        consent.publish_terms(session, f.ADMIN, p["id"], "   ")
    assert consent.publish_terms(session, f.ADMIN, p["id"], TERMS + "\n\nNew: answers may be published.")[
        "terms_version"] == 2
    with pytest.raises(consent.ConsentRequired, match="changed; agree to version 2"):
        svc.lease_next(session, trainer, p["id"])
    consent.agree(session, trainer, p["id"], 2)
    _work_all(session, trainer, p["id"])
    versions = [r["metadata"]["terms_version"] for r in iter_records(session, f.ADMIN, p["id"], "label")]
    assert versions == [1, 2]


def test_terms_in_a_project_definition_are_validated(session):
    for bad in ("", "   ", 7, "x" * 50_001):
        with pytest.raises(ValidationFailed) as exc:
            f.project(session, "label", terms=bad)
        assert [x.loc for x in exc.value.problems] == ["terms"], bad


def test_work_from_before_the_terms_is_covered_and_leaves_with_a_withdrawal(session):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 3)
    trainer = f.trainer_actor(f.expert(session))
    lease = svc.lease_next(session, trainer, p["id"])
    svc.submit(session, trainer, lease["assignment_id"], {"label": "yes"}, Settings())   # no terms yet
    open_lease = svc.lease_next(session, trainer, p["id"])
    consent.publish_terms(session, f.ADMIN, p["id"], TERMS)
    with pytest.raises(consent.ConsentRequired, match="before submitting"):
        svc.submit(session, trainer, open_lease["assignment_id"], {"label": "yes"}, Settings())
    consent.agree(session, trainer, p["id"], 1)
    svc.submit(session, trainer, open_lease["assignment_id"], {"label": "yes"}, Settings())
    versions = [r["metadata"]["terms_version"] for r in iter_records(session, f.ADMIN, p["id"], "label")]
    assert versions == [None, 1]  # the lease taken before the terms is submitted under them
    assert consent.withdraw(session, trainer, p["id"])["contributions_removed"] == 2
    assert list(iter_records(session, f.ADMIN, p["id"], "raw")) == []


def test_withdrawn_work_leaves_the_quality_report_and_the_review_queue(session):
    from expertloop.services import quality, reviews

    p = _label_project(session, overlap=2, items=2)
    stays, leaves = (f.trainer_actor(f.expert(session)) for _ in range(2))
    for actor in (stays, leaves):
        consent.agree(session, actor, p["id"], 1)
        _work_all(session, actor, p["id"])
    before = {a["assignment_id"] for a in reviews.review_queue(session, f.ADMIN, p["id"])}
    assert len(before) == 4
    consent.withdraw(session, leaves, p["id"])
    after = {a["assignment_id"] for a in reviews.review_queue(session, f.ADMIN, p["id"])}
    assert len(after) == 2 and after < before
    report = quality.project_quality(session, f.ADMIN, p["id"], n_boot=10)
    assert [c["expert_id"] for c in report["trainers"]] == [stays.expert_id]
    withdrawn = sorted(before - after)
    with pytest.raises(NotFound):
        reviews.review(session, f.ADMIN, withdrawn[0], "accept")


def test_a_trainer_no_longer_eligible_can_still_read_the_terms_and_withdraw(session):
    p = _label_project(session, overlap=1, items=1)
    e = f.expert(session)
    trainer = f.trainer_actor(e)
    consent.agree(session, trainer, p["id"], 1)
    oversight.set_status(session, f.ADMIN, e["id"], "paused")
    assert consent.my_terms(session, trainer, p["id"])["current"]
    assert consent.withdraw(session, trainer, p["id"])["withdrawn"][0]["withdrawn_by"] == "expert"
    outsider = f.trainer_actor(f.expert(session, status="paused"))
    with pytest.raises(NotFound):
        consent.my_terms(session, outsider, p["id"])
