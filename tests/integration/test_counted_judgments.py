"""One definition of a counted judgment: withdrawn or rejected work drives no decision anywhere.

Each scenario takes one trainer's judgment out, by consent withdrawal or by a reviewer's
rejection, and checks every reader: the consensus fit's input, the quality report, the gold
record behind the quality floor and the adaptive gold rate, fact-check escalation, adaptive
overlap, the dashboard's counts, the review queue and exports.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from expertloop.cli.main import app as cli_app
from expertloop.config import Settings
from expertloop.domain.errors import Conflict, NotFound, ValidationFailed
from expertloop.domain.projects import TaskType
from expertloop.services import assignments as svc
from expertloop.services import consent, dashboards, oversight, quality, reviews, routing, uow
from expertloop.services.consensus import latest_consensus, project_judgments
from expertloop.services.exports import iter_records, pseudonym
from expertloop.services.imports import import_items
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Consent, Item, Project
from tests import factories as f

TERMS = "# Terms\n\nYour answers train language models. You may withdraw at any time."
TIERS = [{"name": "generalist", "requirements": {}, "hourly_rate_usd": "40.00"},
         {"name": "specialist", "requirements": {"min_degree": "phd"}, "hourly_rate_usd": "200.00"}]
WAYS_OUT = ("withdrawn", "rejected")


def _project(session, how, task_type="label", **kw):
    """Withdrawals run under terms the trainers agreed to; rejections in a project without terms."""
    if how == "withdrawn":
        kw["terms"] = TERMS
    return f.project(session, task_type, **kw)


def _join(session, p, actor):
    if p["terms_version"]:
        consent.agree(session, actor, p["id"], p["terms_version"])


def _submit(session, actor, project_id, response):
    lease = svc.lease_next(session, actor, project_id)
    assert lease is not None
    svc.submit(session, actor, lease["assignment_id"], response, Settings())
    return lease


def _take_out(session, how, project_id, actor, assignment_id):
    if how == "withdrawn":
        consent.withdraw(session, f.ADMIN, project_id, expert_id=actor.expert_id, reason="written request")
    else:
        reviews.review(session, f.ADMIN, assignment_id, "reject", "Read the guidelines again.")


@pytest.mark.parametrize("how", WAYS_OUT)
def test_consensus_quality_dashboards_review_queue_and_exports_ignore_it(session, how):
    p = _project(session, how, overlap=2)
    f.items(session, p["id"], "label", 1)
    out, stays = (f.trainer_actor(f.expert(session, name=n)) for n in ("Out", "Stays"))
    for actor in (out, stays):
        _join(session, p, actor)
    gone = _submit(session, out, p["id"], {"label": "no"})["assignment_id"]
    _take_out(session, how, p["id"], out, gone)
    _submit(session, stays, p["id"], {"label": "yes"})
    with uow.read(session):
        project = session.get(Project, p["id"])
        data = project_judgments(session, p["id"], TaskType.label)
        assert data.experts == [stays.expert_id] and data.labels == ["yes"]
        assert latest_consensus(session, p["id"], TaskType.label).label(data.keys[0]) == "yes"

    report = quality.project_quality(session, f.ADMIN, p["id"], n_boot=0)
    assert report["judgments"] == 1 and report["trainers_active"] == 1
    assert [c["expert_id"] for c in report["trainers"]] == [stays.expert_id]
    assert report["trainers"][0]["agreement_with_consensus"] == 1.0

    dash = dashboards.project_dashboard(session, f.ADMIN, p["id"])
    assert dash["project"]["progress"]["judgments"] == 1
    assert [x for x in dash["agreement_per_day"] if x is not None] == [100]
    rows = {r["expert_id"]: r for r in dash["trainers"]}
    if how == "withdrawn":
        assert set(rows) == {stays.expert_id}
        assert sum(dash["submissions_per_day"]) == 1
    else:  # review outcomes are what the trainer table shows; no quality figure reads it
        assert rows[out.expert_id]["rejected"] == 1 and rows[out.expert_id]["agreement"] is None
    overview = {row["id"]: row for row in dashboards.projects_overview(session, f.ADMIN)}
    assert overview[p["id"]]["pending_review"] == 1  # only the counted one awaits review
    queue = reviews.review_queue(session, f.ADMIN, p["id"])
    assert [r["expert_id"] for r in queue] == [stays.expert_id]
    assert [c["pending"] for c in reviews.queue_counts(session, f.ADMIN) if c["project_id"] == p["id"]] == [1]

    for fmt in ("label", "raw"):
        records = list(iter_records(session, f.ADMIN, p["id"], fmt))
        assert [r["metadata"]["expert"] for r in records] == [pseudonym(project, stays.expert_id)], fmt


@pytest.mark.parametrize("how", WAYS_OUT)
def test_gold_record_gold_rate_and_quality_floor_ignore_it(session, how):
    p = _project(session, how, overlap=1, quality_floor={"gold_accuracy": 0.95, "min_gold": 2})
    import_items(session, f.ADMIN, p["id"], [(i + 1, {"external_id": f"g{i}", "text": f"Gold {i}", "gold": "yes"})
                                             for i in range(2)])
    trainer = f.trainer_actor(f.expert(session))
    _join(session, p, trainer)
    wrong = _submit(session, trainer, p["id"], {"label": "no"})["assignment_id"]
    _take_out(session, how, p["id"], trainer, wrong)
    with uow.read(session):
        assert routing.gold_record(session, p["id"], TaskType.label, trainer.expert_id) == (0, 0)
        assert routing.gold_answered(session, p["id"], trainer.expert_id) == 0
    _join(session, p, trainer)  # after a withdrawal, new work needs a new agreement
    _submit(session, trainer, p["id"], {"label": "yes"})
    with uow.read(session):
        assert routing.gold_record(session, p["id"], TaskType.label, trainer.expert_id) == (1, 1)
        assert routing.gold_answered(session, p["id"], trainer.expert_id) == 1
    # one counted gold answer, right: below min_gold, nobody is paused (1/2 would have been)
    assert not [n for n in oversight.notifications(session, f.ADMIN, p["id"]) if n["kind"] == "trainer_paused"]


@pytest.mark.parametrize("how", WAYS_OUT)
def test_factcheck_escalation_ignores_it(session, how):
    p = _project(session, how, "factcheck", overlap=2, tiers=TIERS)
    f.items(session, p["id"], "factcheck", 1)
    out, a, b = (f.trainer_actor(f.expert(session, degree="master")) for _ in range(3))
    for actor in (out, a, b):
        _join(session, p, actor)

    def verdicts(second):
        return {"claims": [{"verdict": "supported", "evidence": []}, {"verdict": second, "evidence": []}]}
    gone = _submit(session, out, p["id"], verdicts("refuted"))["assignment_id"]
    _take_out(session, how, p["id"], out, gone)
    _submit(session, a, p["id"], verdicts("supported"))
    if how == "rejected":  # the rejected slot reopened
        _submit(session, b, p["id"], verdicts("supported"))
    with uow.read(session):
        item = session.execute(select(Item).where(Item.project_id == p["id"])).scalar_one()
    assert item.required_tier is None
    events = oversight.item_history(session, f.ADMIN, item.id)["events"]
    assert not [e for e in events if e["kind"] == "escalated"]


@pytest.mark.parametrize("how", WAYS_OUT)
def test_adaptive_overlap_counts_only_counted_judgments(session, how):
    p = _project(session, how, overlap={"min": 2, "max": 4, "target_confidence": 0.9})
    f.items(session, p["id"], "label", 1)
    out, stays = (f.trainer_actor(f.expert(session)) for _ in range(2))
    for actor in (out, stays):
        _join(session, p, actor)
    gone = _submit(session, out, p["id"], {"label": "no"})["assignment_id"]
    _take_out(session, how, p["id"], out, gone)
    _submit(session, stays, p["id"], {"label": "yes"})
    with uow.read(session):
        item = session.execute(select(Item).where(Item.project_id == p["id"])).scalar_one()
    decided = [e["detail"] for e in oversight.item_history(session, f.ADMIN, item.id)["events"]
               if e["kind"] == "decided"]
    assert decided[-1]["judgments"] == 1 and decided[-1]["decision"] == "more"  # one counted, min is two
    assert item.target_overlap == item.done_count + 1
    assert oversight.item_history(session, f.ADMIN, item.id)["judgments"] == 1


# -- withdrawal in a project without terms -------------------------------------------------------
def _worked_project_without_terms(session):
    p = f.project(session, "label", overlap=2)
    f.items(session, p["id"], "label", 2)
    out, stays = (f.trainer_actor(f.expert(session, name=n)) for n in ("Out", "Stays"))
    _submit(session, out, p["id"], {"label": "no"})
    _submit(session, stays, p["id"], {"label": "yes"})
    held = svc.lease_next(session, out, p["id"])
    return p, out, stays, held


def test_staff_record_a_withdrawal_in_a_project_without_terms(session):
    p, out, stays, held = _worked_project_without_terms(session)
    assert p["terms_version"] == 0
    done = consent.withdraw(session, f.ADMIN, p["id"], expert_id=out.expert_id, reason="email of 3 March")
    assert done["contributions_removed"] == 1 and done["released_leases"] == 1
    [recorded] = done["withdrawn"]
    assert recorded["recorded_without_terms"] and recorded["terms_version"] is None
    assert recorded["agreed_at"] is None and recorded["withdrawn_by"] == "admin"
    assert recorded["withdrawal_reason"] == "email of 3 March"

    with uow.read(session):
        project = session.get(Project, p["id"])
    for fmt in ("label", "raw"):
        experts = {r["metadata"]["expert"] for r in iter_records(session, f.ADMIN, p["id"], fmt)}
        assert experts == {pseudonym(project, stays.expert_id)}, fmt
    with uow.read(session):
        assert set(project_judgments(session, p["id"], TaskType.label).experts) == {stays.expert_id}
    report = quality.project_quality(session, f.ADMIN, p["id"], n_boot=0)
    assert [c["expert_id"] for c in report["trainers"]] == [stays.expert_id]
    assert [r["expert_id"] for r in reviews.review_queue(session, f.ADMIN, p["id"])] == [stays.expert_id]
    # the held lease is gone, and the project takes no new work from them
    with pytest.raises(consent.ConsentRequired):
        svc.submit(session, out, held["assignment_id"], {"label": "no"}, Settings())
    with pytest.raises(consent.ConsentWithdrawn, match="withdrawn"):
        svc.lease_next(session, out, p["id"])
    # recorded once; a second request has nothing left to cover
    with pytest.raises(Conflict, match="already on record"):
        consent.withdraw(session, f.ADMIN, p["id"], expert_id=out.expert_id)
    assert [c["recorded_without_terms"] for c in consent.list_consents(session, f.ADMIN, p["id"])] == [True]
    notes = oversight.notifications(session, f.ADMIN, p["id"])
    assert notes[0]["kind"] == "consent_withdrawn" and "1 contribution leaves" in notes[0]["message"]
    # others keep working
    assert svc.lease_next(session, stays, p["id"]) is not None


def test_withdrawal_without_terms_names_an_existing_expert(session):
    p, _out, _stays, _held = _worked_project_without_terms(session)
    with pytest.raises(NotFound, match="expert 999999"):
        consent.withdraw(session, f.ADMIN, p["id"], expert_id=999_999)
    with pytest.raises(ValidationFailed):
        consent.withdraw(session, f.ADMIN, p["id"], expert_id=2**40)
    with uow.read(session):
        assert session.execute(select(Consent)).first() is None  # nothing was recorded


def test_an_expert_may_withdraw_their_own_work_in_a_project_without_terms(session):
    p, out, stays, _held = _worked_project_without_terms(session)
    done = consent.withdraw(session, out, p["id"], reason="changed my mind")
    assert done["withdrawn"][0]["withdrawn_by"] == "expert" and done["contributions_removed"] == 1
    assert set(project_judgments(session, p["id"], TaskType.label).experts) == {stays.expert_id}


def test_work_done_before_the_terms_can_be_withdrawn_without_agreeing(session):
    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 2)
    early = f.trainer_actor(f.expert(session))
    _submit(session, early, p["id"], {"label": "no"})
    consent.publish_terms(session, f.ADMIN, p["id"], TERMS)
    done = consent.withdraw(session, f.ADMIN, p["id"], expert_id=early.expert_id)
    assert done["contributions_removed"] == 1 and done["withdrawn"][0]["recorded_without_terms"]
    assert list(iter_records(session, f.ADMIN, p["id"], "label")) == []
    consent.agree(session, early, p["id"], 1)  # agreeing to the terms lets them work again
    _submit(session, early, p["id"], {"label": "yes"})
    [record] = iter_records(session, f.ADMIN, p["id"], "label")
    assert record["metadata"]["terms_version"] == 1


def test_withdrawal_without_terms_through_the_api(client, session):
    p, out, _stays, _held = _worked_project_without_terms(session)
    admin = f.auth(f.token(session, "admin"))
    r = client.post(f"/api/v1/projects/{p['id']}/consent/withdraw", headers=admin,
                    json={"expert_id": out.expert_id, "reason": "letter"})
    assert r.status_code == 200, r.text
    assert r.json()["contributions_removed"] == 1 and r.json()["withdrawn"][0]["recorded_without_terms"]
    r = client.post(f"/api/v1/projects/{p['id']}/consent/withdraw", headers=admin, json={"expert_id": out.expert_id})
    assert r.status_code == 409
    r = client.post(f"/api/v1/projects/{p['id']}/consent/withdraw", headers=admin, json={"expert_id": 123456})
    assert r.status_code == 404
    r = client.post(f"/api/v1/projects/{p['id']}/consent/withdraw", headers=admin, json={"expert_id": 2**62})
    assert r.status_code == 422
    export = client.get(f"/api/v1/projects/{p['id']}/export?format=label", headers=admin)
    assert export.status_code == 200 and export.text.count("\n") == 1
    trainer = f.auth(f.token(session, "trainer", out.expert_id))
    r = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer)
    assert r.status_code == 403 and "withdrawn" in r.json()["detail"]


def test_withdrawal_without_terms_through_the_cli(fresh_url):
    engine = make_engine(fresh_url)
    try:
        with make_sessionmaker(engine)() as session:
            p, out, stays, _held = _worked_project_without_terms(session)
        env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
        r = CliRunner().invoke(cli_app, ["consents", str(p["id"]), "--withdraw", str(out.expert_id),
                                         "--reason", "phone call"], env=env)
        assert r.exit_code == 0, r.output
        assert "1 contributions leave every export" in r.output
        assert "no terms agreed" in r.output and "phone" in r.output
        with make_sessionmaker(engine)() as session:
            assert set(project_judgments(session, p["id"], TaskType.label).experts) == {stays.expert_id}
        r = CliRunner().invoke(cli_app, ["consents", str(p["id"]), "--withdraw", str(out.expert_id)], env=env)
        assert r.exit_code != 0 and "already on record" in r.output
    finally:
        engine.dispose()
