"""A model as judge over real HTTP: both orders for pairwise items, answers stored apart from
the experts' (no consensus, no pay), and the quality report's judge section."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from expertloop.cli.main import app as cli_app
from expertloop.config import Settings
from expertloop.domain.errors import Conflict, ValidationFailed
from expertloop.domain.judging import AB, BA, item_verdict, read_label, read_pair
from expertloop.services import assignments, judging, models, uow
from expertloop.services.imports import import_items
from expertloop.services.reports import quality_report
from expertloop.storage.orm import Assignment, LedgerEntry, ModelJudgment
from tests.factories import ADMIN, auth, expert, project, run_jobs, token, trainer_actor

runner = CliRunner()
SHORT, LONG = "Yes.", "Yes, because the evidence shows it clearly."


def test_reading_replies():
    assert read_pair('{"choice": "A", "confidence": 0.9}', AB) == ("0", 0.9)
    assert read_pair('Sure! {"choice": "A"}', BA) == ("1", None)
    assert read_pair("B", AB) == ("1", None)
    assert read_pair('{"choice": "tie", "confidence": 3}', AB) == ("tie", 1.0)
    assert read_pair("I cannot decide", AB) == (None, None)
    assert read_label('{"label": "YES", "confidence": 0.5}', ["yes", "no"]) == ("yes", 0.5)
    assert read_label("maybe", ["yes", "no"]) == (None, None)
    assert item_verdict({AB: ("0", 0.8), BA: ("0", 0.6)}) == ("0", pytest.approx(0.7), True)
    assert item_verdict({AB: ("0", 0.8), BA: ("1", 0.6)}) == (None, None, False)


@pytest.fixture()
def judged_project(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "judge-weights")
    p = project(session, "preference")
    records = []
    for i in range(6):
        long_first = i % 2 == 0
        prompt = f"Q{i}" + (" [[prefer:first]]" if i == 5 else "")  # item 5: a position-biased judge
        records.append((i + 1, {"external_id": f"q{i}", "prompt": prompt,
                                "responses": [{"text": LONG if long_first else SHORT, "model": "m1"},
                                              {"text": SHORT if long_first else LONG, "model": "m2"}],
                                "metadata": {"domain": "law" if i < 3 else "medicine"},
                                **({"gold": {"choice": 0 if long_first else 1}} if i == 0 else {})}))
    import_items(session, ADMIN, p["id"], records)
    # The experts prefer the longer answer on items 0-3, the shorter on 4 and 5.
    e = expert(session)
    actor = trainer_actor(e)
    for _ in range(6):
        lease = assignments.lease_next(session, actor, p["id"])
        item = lease["item"]
        longer = next(r["index"] for r in item["responses"] if r["text"] == LONG)
        n = int(item["prompt"].split()[0][1:])
        choice = longer if n < 4 else 1 - longer
        assignments.submit(session, actor, lease["assignment_id"], {"choice": choice}, Settings())
    run_jobs(session)  # the consensus refit
    return p


def test_a_judge_job_judges_both_orders_and_the_report_measures_it(session, judged_project, fresh_model_server):
    p = judged_project
    queued = judging.request_judging(session, ADMIN, p["id"], "judge")
    with uow.read(session):
        paid_before = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    run_jobs(session)
    with uow.read(session):
        rows = session.execute(select(ModelJudgment)).scalars().all()
        assert session.execute(select(func.count()).select_from(Assignment)).scalar_one() == 6
        assert session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == paid_before
    assert len(rows) == 12 and {r.order for r in rows} == {AB, BA} and all(r.job_id == queued["job_id"] for r in rows)
    assert all(r.generation["model"] == "judge-weights" for r in rows)
    # judge prompts are sent with both answers, A and B swapped between the orders
    assert sum(1 for r in fresh_model_server.requests if "[ANSWER A]" in r["messages"][1]["content"]) == 12

    [section] = quality_report(session, ADMIN, p["id"])["judges"]
    assert section["model"] == "judge" and section["items_judged"] == 6
    assert section["swap_consistency"]["agree"] == 5 and section["swap_consistency"]["n"] == 6
    # the judge picks the longer answer (item 5 has no verdict): agrees with experts on items 0-3
    agree = section["agreement_with_experts"]
    assert (agree["agree"], agree["n"]) == (4, 6) and agree["interval"][0] < 4 / 6 < agree["interval"][1]
    assert agree["kappa"] is not None
    assert (section["agreement_with_gold"]["agree"], section["agreement_with_gold"]["n"]) == (1, 1)
    assert section["length_bias"]["judge_chose_longer"]["rate"] == pytest.approx(11 / 12, abs=1e-3)
    assert section["length_bias"]["experts_chose_longer"]["rate"] == pytest.approx(4 / 6, abs=1e-3)
    assert section["by_group"]["law"]["rate"] == 1.0 and section["by_group"]["medicine"]["agree"] == 1
    assert section["agree_confidently"]["n"] == 6

    # a second run judges nothing again
    assert judging.judge_items(session, p["id"], "judge")["judged_items"] == 0


def test_the_quality_page_shows_the_judge(client, session, judged_project):
    from tests.web.helpers import PageClient

    p = judged_project
    judging.request_judging(session, ADMIN, p["id"], "judge")
    run_jobs(session)  # the judge job, then the quality snapshot it queues
    page = PageClient(client, token(session, "manager"), "/manage").get(f"/manage/projects/{p['id']}/quality")
    assert page.status_code == 200, page.text
    assert 'id="judges"' in page.text and 'data-judge="judge"' in page.text
    assert "Same answer when swapped" in page.text and "83%" in page.text  # 5 of 6 swap-consistent


def test_judging_refuses_what_it_cannot_judge(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "j")
    sft = project(session, "sft")
    with pytest.raises(Conflict, match="preference, ranking, label and factcheck"):
        judging.request_judging(session, ADMIN, sft["id"], "judge")
    pref = project(session, "preference")
    with pytest.raises(ValidationFailed, match="no model endpoint named 'nobody'"):
        judging.request_judging(session, ADMIN, pref["id"], "nobody")


def test_label_judge_through_the_api(client, session, fresh_model_server):
    admin = auth(token(session, "admin"))
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "j")
    p = project(session, "label")
    import_items(session, ADMIN, p["id"], [(1, {"text": "a"}), (2, {"text": "b"})])
    r = client.post(f"/api/v1/projects/{p['id']}/judge", headers=admin, json={"model": "judge"})
    assert r.status_code == 202, r.text
    run_jobs(session)
    with uow.read(session):
        answers = session.execute(select(ModelJudgment.answer, ModelJudgment.order)).all()
    assert sorted(answers) == [("yes", "-"), ("yes", "-")]  # the test judge takes the first label
    assert client.post(f"/api/v1/projects/{p['id']}/judge", headers=admin, json={"model": 3}).status_code == 422
    assert client.post(f"/api/v1/projects/{p['id']}/judge", headers=admin, json={"x": 1}).status_code == 422
    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    assert client.post(f"/api/v1/projects/{p['id']}/judge", headers=trainer,
                       json={"model": "judge"}).status_code == 403


def test_cli_judge(fresh_url, model_server, tmp_path):
    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    model_server.reset()
    assert runner.invoke(cli_app, ["models", "add", "judge", "--base-url", model_server.base_url,
                                   "--model", "j"], env=env).exit_code == 0
    spec = tmp_path / "p.json"
    spec.write_text('{"name": "P", "task_type": "preference"}')
    pid = runner.invoke(cli_app, ["project", "create", str(spec)], env=env).output.strip()
    data = tmp_path / "items.jsonl"
    data.write_text('{"prompt": "Q", "responses": [{"text": "short"}, {"text": "much longer answer"}]}\n')
    assert runner.invoke(cli_app, ["items", "import", pid, str(data)], env=env).exit_code == 0
    r = runner.invoke(cli_app, ["judge", pid, "--model", "judge"], env=env)
    assert r.exit_code == 0, r.output
    assert "judge: 1 items judged, swap-consistent 100%" in r.output
    r = runner.invoke(cli_app, ["quality", pid, "--json"], env=env)
    assert r.exit_code == 0, r.output
    [section] = json.loads(r.output)["judges"]
    assert section["model"] == "judge" and section["swap_consistency"]["agree"] == 1


def test_judge_first_sends_experts_only_what_the_judge_cannot_decide(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "j")
    p = project(session, "preference", judge_first={"model": "judge", "min_agreement": 0.75})
    result = import_items(session, ADMIN, p["id"], [
        (1, {"prompt": "clear 1", "responses": [{"text": LONG}, {"text": SHORT}], "gold": {"choice": 0}}),
        (2, {"prompt": "clear 2", "responses": [{"text": SHORT}, {"text": LONG}]}),
        (3, {"prompt": "biased [[prefer:first]]", "responses": [{"text": LONG}, {"text": SHORT}]}),
        (4, {"prompt": "even", "responses": [{"text": "same"}, {"text": "emas"}]})])
    assert result["job_id"]
    actor = trainer_actor(expert(session))
    assert assignments.lease_next(session, actor, p["id"]) is None  # the judge looks first
    run_jobs(session)
    leased = []
    while (lease := assignments.lease_next(session, actor, p["id"])) is not None:
        leased.append(lease["item"]["prompt"])
        assignments.submit(session, actor, lease["assignment_id"], {"choice": 0}, Settings())
    assert sorted(leased) == ["biased [[prefer:first]]", "even"]  # swap-inconsistent, and a tie
    run_jobs(session)  # the submits' refit, which stores the quality snapshot
    [section] = quality_report(session, ADMIN, p["id"])["judges"]
    jf = section["judge_first"]
    assert jf["decided_by_judge"] == 2 and jf["sent_to_experts"] == 2 and jf["min_agreement"] == 0.75
    assert jf["expert_hours_saved"] is not None and jf["expert_hours_saved"] >= 0
    assert (jf["accuracy_kept_vs_gold"]["agree"], jf["accuracy_kept_vs_gold"]["n"]) == (1, 1)
    progress = client_free_progress(session, p["id"])
    assert progress["items_complete"] == 4


def client_free_progress(session, pid):
    from expertloop.services.projects import get_project

    return get_project(session, ADMIN, pid)["progress"]


def test_judge_first_on_a_label_project(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "judge", fresh_model_server.base_url, "j")
    p = project(session, "label", judge_first={"model": "judge", "min_agreement": 0.6})
    import_items(session, ADMIN, p["id"], [(1, {"text": "plain"}),
                                           (2, {"text": "[[reply:no idea]]"})])  # an unreadable reply
    run_jobs(session)
    actor = trainer_actor(expert(session))
    lease = assignments.lease_next(session, actor, p["id"])
    assert lease is not None and lease["item"]["text"] == "[[reply:no idea]]"
    assignments.release(session, actor, lease["assignment_id"])
    assert assignments.lease_next(session, actor, p["id"]) is None  # the other was settled by the judge
