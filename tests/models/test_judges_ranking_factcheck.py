"""Model judges on ranking projects (imported order and reversed: position consistency) and on
fact-check projects (a verdict per claim), over real HTTP against the test model server,
measured against the experts and gold in the quality report — never in consensus or pay."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from expertloop.config import Settings
from expertloop.domain.judging import FWD, REV, ranking_messages, read_ranking, read_verdicts
from expertloop.services import assignments, judging, models, uow
from expertloop.services.imports import import_items
from expertloop.services.reports import quality_report
from expertloop.storage.orm import Assignment, LedgerEntry, ModelJudgment
from tests.factories import ADMIN, expert, project, run_jobs, token, trainer_actor

TEXTS = ["short", "a middling answer", "the longest answer of the three, by far"]


def test_reading_rankings_and_verdicts():
    payload = {"prompt": "Q", "responses": [{"text": t} for t in TEXTS]}
    assert "[ANSWER A]\n" + TEXTS[2] in ranking_messages(payload, REV)[1]["content"]
    assert read_ranking('{"ranking": ["B", "A", "C"], "confidence": 0.6}', FWD, 3) == ("1", 0.6)
    assert read_ranking('{"ranking": ["A", "B", "C"]}', REV, 3) == ("2", None)
    assert read_ranking('{"ranking": "C > A > B"}', FWD, 3) == ("2", None)
    assert read_ranking('{"ranking": ["D"]}', FWD, 3) == (None, None)
    assert read_verdicts('{"verdicts": ["Supported", "not enough info"]}', 2) == (["supported", "not_enough_info"],
                                                                                  None)
    assert read_verdicts('{"verdicts": ["supported"]}', 2) == ([None, None], None)


def test_a_ranking_judge_sees_both_orders(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "rank-weights")
    p = project(session, "ranking")
    import_items(session, ADMIN, p["id"], [
        (i + 1, {"external_id": f"r{i}", "prompt": f"R{i}" + (" [[prefer:first]]" if i == 3 else ""),
                 "responses": [{"text": t} for t in TEXTS], **({"gold": {"order": [2, 1, 0]}} if i == 0 else {})})
        for i in range(4)])
    actor = trainer_actor(expert(session))
    while (lease := assignments.lease_next(session, actor, p["id"])) is not None:
        longest_first = lease["item"]["prompt"] != "R2"  # the experts rank the shortest first on R2
        order = [2, 1, 0] if longest_first else [0, 1, 2]
        assignments.submit(session, actor, lease["assignment_id"], {"order": order}, Settings())
    run_jobs(session)
    judging.request_judging(session, ADMIN, p["id"], "judge")
    run_jobs(session)
    with uow.read(session):
        orders = sorted(session.execute(select(ModelJudgment.order)).scalars())
    assert orders == [FWD] * 4 + [REV] * 4
    [section] = quality_report(session, ADMIN, p["id"], fresh=True)["judges"]
    assert section["items_judged"] == 4
    assert (section["swap_consistency"]["agree"], section["swap_consistency"]["n"]) == (3, 4)  # R3 is biased
    agree = section["agreement_with_experts"]
    assert (agree["agree"], agree["n"]) == (2, 4) and agree["interval"][0] < 0.5 < agree["interval"][1]
    assert (section["agreement_with_gold"]["agree"], section["agreement_with_gold"]["n"]) == (1, 1)
    assert "length_bias" not in section


def test_a_factcheck_judge_gives_a_verdict_per_claim(client, session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "fact-weights")
    p = project(session, "factcheck")
    import_items(session, ADMIN, p["id"], [
        (1, {"prompt": "Q1", "response": "R1", "claims": ["Paris is in France.", "The sun is not a star."],
             "gold": ["supported", "refuted"], "metadata": {"domain": "geo"}}),
        (2, {"prompt": "Q2", "response": "R2", "claims": ["Water is wet.", "Ice is not cold."]})])
    actor = trainer_actor(expert(session))
    while (lease := assignments.lease_next(session, actor, p["id"])) is not None:
        if lease["item"]["prompt"] == "Q1":
            response = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}]}
        else:  # the expert corrects the second claim: it leaves the proposed split's consensus
            response = {"claims": [{"text": "Water is wet.", "verdict": "supported"},
                                   {"text": "Ice is cold.", "from": [1], "verdict": "supported"}]}
        assignments.submit(session, actor, lease["assignment_id"], response, Settings())
    run_jobs(session)
    with uow.read(session):
        paid = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    judging.request_judging(session, ADMIN, p["id"], "judge")
    run_jobs(session)
    with uow.read(session):
        rows = {(r.item_id, r.order): r.answer for r in session.execute(select(ModelJudgment)).scalars()}
        assert session.execute(select(func.count()).select_from(Assignment)).scalar_one() == 2
        assert session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == paid
    assert sorted(rows.values()) == ["refuted", "refuted", "supported", "supported"]
    assert len(fresh_model_server.requests) == 2                      # one call per item
    [section] = quality_report(session, ADMIN, p["id"], fresh=True)["judges"]
    assert section["items_judged"] == 2 and section["claims_judged"] == 4
    assert "swap_consistency" not in section
    agree = section["agreement_with_experts"]
    assert (agree["agree"], agree["n"]) == (3, 3)                     # the corrected claim has no consensus
    assert (section["agreement_with_gold"]["agree"], section["agreement_with_gold"]["n"]) == (2, 2)
    assert section["by_group"]["geo"]["n"] == 2
    assert judging.judge_items(session, p["id"], "judge")["judged_items"] == 0
    from tests.web.helpers import PageClient

    page = PageClient(client, token(session, "manager"), "/manage").get(f"/manage/projects/{p['id']}/quality")
    assert page.status_code == 200 and "4 claims" in page.text


@pytest.mark.parametrize("task_type", ["rubric", "sft"])
def test_types_without_a_categorical_answer_are_not_judged(session, fresh_model_server, task_type):
    from expertloop.domain.errors import Conflict

    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "j")
    with pytest.raises(Conflict, match="ranking, label and factcheck"):
        judging.request_judging(session, ADMIN, project(session, task_type)["id"], "judge")
