"""Authenticity checks: the aggregates a submit carries, similarity to the item's model
outputs, flags by threshold, a staff decision the expert is told of, the expert's reply, and
pay that no flag changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expertloop.config import Settings
from expertloop.domain.authenticity import model_outputs, parse_signals, similarity
from expertloop.domain.errors import NotFound, PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services import audit, uow
from expertloop.services import authenticity as auth
from expertloop.services.exports import iter_records
from expertloop.storage.orm import AuthenticityCheck, LedgerEntry, Notification
from tests.factories import ADMIN, expert, items, project, trainer_actor

MODEL_TEXT = ("The French Revolution began in 1789 when the Estates-General convened at Versailles, "
              "and the storming of the Bastille on 14 July became its symbol. Economic crisis, debt from "
              "foreign wars and Enlightenment ideas all fed the unrest that toppled the monarchy.")
OWN_TEXT = ("I would start from the fiscal crisis: the crown could not borrow any more, so Louis XVI had to "
            "summon the Estates in May 1789. What followed was less a plan than a cascade of decisions, each "
            "forced by the last one, from the Tennis Court Oath to the abolition of feudal privileges in August.")

TYPED = {"completion": {"typed_chars": 260, "pasted_chars": 0, "paste_events": 0, "keystrokes": 290,
                        "final_chars": 255, "away_seconds": 3.5, "away_events": 1,
                        "interkey": {"n": 280, "median_ms": 170, "p10_ms": 95, "p90_ms": 480}}}
PASTED = {"completion": {"typed_chars": 4, "pasted_chars": 250, "paste_events": 1, "paste_sizes": [250],
                         "keystrokes": 6, "final_chars": 254}}


@pytest.fixture()
def sft(session):
    p = project(session, "sft", overlap=3)
    items(session, p["id"], "sft", 3)
    return p


def submit(session, who, pid, text, signals, settings=None):
    lease = svc.lease_next(session, trainer_actor(who), pid)
    return svc.submit(session, trainer_actor(who), lease["assignment_id"], {"completion": text},
                      settings or Settings(), authenticity=signals)


def test_signals_are_bounded_aggregates_and_nothing_else():
    assert parse_signals(None) is None
    assert parse_signals(TYPED)["completion"]["interkey"]["median_ms"] == 170.0
    for bad, where in ((["x"], "authenticity"), ({"completion": {"keys": "abc"}}, "authenticity.completion"),
                       ({"completion": {"typed_chars": -1}}, "authenticity.completion.typed_chars"),
                       ({"completion": {"typed_chars": True}}, "authenticity.completion.typed_chars"),
                       ({"completion": {"paste_sizes": [1] * 51}}, "authenticity.completion.paste_sizes"),
                       ({"completion": {"interkey": {"sequence": [1, 2]}}}, "authenticity.completion.interkey"),
                       ({"bad name!": {}}, "authenticity")):
        with pytest.raises(ValidationFailed) as exc:
            parse_signals(bad)
        assert exc.value.problems[0].loc == where, bad


def test_similarity_finds_a_lightly_edited_model_answer():
    payload = {"prompt": "Why 1789?", "responses": [{"text": "Short."}, {"text": MODEL_TEXT}]}
    outputs = model_outputs(payload, {"model_answer": "Another model's answer."})
    assert outputs == ["Short.", MODEL_TEXT, "Another model's answer."]
    edited = MODEL_TEXT.replace("symbol", "emblem").replace("all fed", "together fed")
    score, at = similarity(edited, outputs)
    assert at == 1 and score > 0.85
    assert similarity(OWN_TEXT, outputs)[0] < 0.3


def test_a_pasted_answer_is_flagged_decided_and_replied_to_without_touching_pay(session, sft):
    pid = sft["id"]
    typist, paster = expert(session), expert(session)
    submit(session, typist, pid, OWN_TEXT, TYPED)
    done = submit(session, paster, pid, MODEL_TEXT, PASTED)
    with uow.read(session):
        pay_before = session.execute(select(LedgerEntry.amount_cents).where(
            LedgerEntry.assignment_id == done["assignment_id"])).scalar_one()
        notes = session.execute(select(Notification.message).where(Notification.kind == "authenticity_flag")).all()
    assert len(notes) == 1 and "unkeyed text" in notes[0][0]

    queue = auth.review_queue(session, ADMIN, pid)
    assert [c["expert_id"] for c in queue] == [paster["id"]]
    flag = queue[0]
    assert flag["reasons"] == [{"field": "completion", "kind": "unkeyed_text", "value": 0.9843, "threshold": 0.5}]
    assert flag["signals"]["completion"]["paste_sizes"] == [250] and flag["response"]["completion"] == MODEL_TEXT
    clear = auth.review_queue(session, ADMIN, pid, status="clear")
    assert clear[0]["expert_id"] == typist["id"] and clear[0]["human_authenticated"]

    # the expert sees it and replies; another expert cannot see or reply to it
    mine = auth.my_checks(session, trainer_actor(paster))
    assert [c["id"] for c in mine] == [flag["id"]] and mine[0]["status"] == "flagged"
    with pytest.raises(NotFound):
        auth.reply(session, trainer_actor(typist), flag["id"], "not mine")
    with pytest.raises(PermissionDenied):
        auth.decide(session, trainer_actor(paster), flag["id"], "cleared")
    with pytest.raises(ValidationFailed):
        auth.decide(session, ADMIN, flag["id"], "upheld")  # an upheld flag needs a note the expert reads
    with pytest.raises(ValidationFailed):
        auth.decide(session, ADMIN, clear[0]["id"], "cleared")  # nothing was flagged there

    decided = auth.decide(session, ADMIN, flag["id"], "upheld", "The answer matches the model's answer B.")
    assert decided["status"] == "upheld" and decided["decided_by"] == "admin"
    with uow.read(session):
        told = session.execute(select(Notification.message).where(
            Notification.kind == "authenticity_decision", Notification.expert_id == paster["id"])).scalar_one()
    assert "upheld" in told and "pay is unchanged" in told
    replied = auth.reply(session, trainer_actor(paster), flag["id"], "I wrote it offline and pasted it in.")
    assert replied["status"] == "upheld"  # a reply does not reopen the decision; staff are told
    assert [c["status"] for c in auth.my_checks(session, trainer_actor(paster))] == ["upheld"]
    assert auth.review_queue(session, ADMIN, pid, status="upheld")[0]["expert_reply"].startswith("I wrote")
    with uow.read(session):
        told = session.execute(select(Notification.message).where(
            Notification.kind == "authenticity_reply", Notification.expert_id == paster["id"])).scalar_one()
    assert f"check {flag['id']} (upheld)" in told
    assert auth.decide(session, ADMIN, flag["id"], "cleared", "Thanks, draft history checked.")["status"] == "cleared"
    decisions = audit.list_entries(session, None, project_id=pid, action="authenticity.decided")
    assert [e["detail"]["outcome"] for e in decisions] == ["cleared", "upheld"]
    with uow.read(session):
        pay_after = session.execute(select(LedgerEntry.amount_cents).where(
            LedgerEntry.assignment_id == done["assignment_id"])).scalar_one()
    assert pay_after == pay_before


def test_similarity_flags_an_answer_close_to_a_model_output_with_no_signals(session):
    p = project(session, "preference")
    items(session, p["id"], "preference", 1, responses=[{"text": "short"}, {"text": MODEL_TEXT}])
    e = expert(session)
    lease = svc.lease_next(session, trainer_actor(e), p["id"])
    svc.submit(session, trainer_actor(e), lease["assignment_id"],
               {"choice": 1, "strength": 2, "rationale": MODEL_TEXT + " Clear winner."}, Settings())
    check = auth.review_queue(session, ADMIN, p["id"])[0]
    assert check["reasons"][0]["kind"] == "close_to_model_output" and check["reasons"][0]["field"] == "rationale"
    assert check["similarity"]["rationale"]["output"] == 1 and not check["human_authenticated"]


def test_thresholds_are_settings(session, sft):
    lenient = Settings(authenticity_unkeyed_share=0.99, authenticity_min_chars=200)
    submit(session, expert(session), sft["id"], MODEL_TEXT, {"completion": {**PASTED["completion"],
                                                                            "pasted_chars": 240}}, lenient)
    assert auth.review_queue(session, ADMIN, sft["id"]) == []


def test_bad_signals_change_nothing(session, sft):
    e = expert(session)
    lease = svc.lease_next(session, trainer_actor(e), sft["id"])
    with pytest.raises(ValidationFailed):
        svc.submit(session, trainer_actor(e), lease["assignment_id"], {"completion": OWN_TEXT}, Settings(),
                   authenticity={"completion": {"keys": "secret"}})
    assert svc.get_assignment(session, trainer_actor(e), lease["assignment_id"])["state"] == "leased"
    with uow.read(session):
        assert session.execute(select(AuthenticityCheck)).first() is None


def test_exports_carry_authenticity_per_record(session, sft):
    submit(session, expert(session), sft["id"], OWN_TEXT, TYPED)
    submit(session, expert(session), sft["id"], MODEL_TEXT, PASTED)
    records = list(iter_records(session, ADMIN, sft["id"], "sft"))
    got = sorted((r["metadata"]["authenticity"]["outcome"], r["metadata"]["authenticity"]["human_authenticated"])
                 for r in records)
    assert got == [("clear", True), ("flagged", False)]
    flagged = next(r for r in records if r["metadata"]["authenticity"]["outcome"] == "flagged")
    assert flagged["metadata"]["authenticity"]["signals"]["completion"]["pasted_chars"] == 250
