"""Fact vs fiction per model: responses split into claims by a model in a job, judged by
experts, scored per model that wrote them (FActScore with intervals)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from expertloop.cli.main import app as cli_app
from expertloop.config import Settings
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.modelwork import read_claims
from expertloop.services import assignments, generation, models, uow
from expertloop.services.factscore import factscore
from expertloop.services.imports import import_items
from expertloop.services.reports import quality_report
from expertloop.storage.orm import Item
from tests.factories import ADMIN, auth, expert, project, run_jobs, token, trainer_actor

runner = CliRunner()


def test_reading_claims():
    assert read_claims('{"claims": ["A is B.", " ", "C."]}') == ["A is B.", "C."]
    assert read_claims("- A is B.\n2. C is D.\n") == ["A is B.", "C is D."]
    assert read_claims("") == []


@pytest.fixture()
def splitter(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "splitter", fresh_model_server.base_url, "s")
    return fresh_model_server


def test_responses_are_split_into_claims_then_judged_and_scored_per_model(client, session, splitter):
    p = project(session, "factcheck", claims={"model": "splitter"})
    result = import_items(session, ADMIN, p["id"], [
        (1, {"prompt": "Paris?", "response": "Paris is in France. The Seine runs through it.", "model": "m-good"}),
        (2, {"prompt": "Sun?", "response": "The sun is cold. It orbits the earth. It is a star.", "model": "m-bad"}),
        (3, {"prompt": "Given", "response": "Water is wet.", "claims": ["Water is wet."], "model": "m-good"})])
    assert result["awaiting_candidates"] == 2 and result["job_id"]
    actor = trainer_actor(expert(session))
    run_jobs(session)
    with uow.read(session):
        items = {i.payload["prompt"]: i for i in session.execute(select(Item)).scalars()}
    assert items["Paris?"].payload["claims"] == ["Paris is in France.", "The Seine runs through it."]
    assert items["Sun?"].payload["claims"] == ["The sun is cold.", "It orbits the earth.", "It is a star."]
    assert items["Paris?"].meta["claims_generation"]["endpoint_name"] == "splitter"
    truth = {"Paris is in France.": "supported", "The Seine runs through it.": "supported",
             "The sun is cold.": "refuted", "It orbits the earth.": "refuted", "It is a star.": "supported",
             "Water is wet.": "not_enough_info"}
    while (lease := assignments.lease_next(session, actor, p["id"])) is not None:
        assert "model" not in lease["item"]  # trainers never learn which model wrote it
        verdicts = [{"verdict": truth[c], "evidence": []} for c in lease["item"]["claims"]]
        assignments.submit(session, actor, lease["assignment_id"], {"claims": verdicts}, Settings())
    run_jobs(session)
    scores = {m["model"]: m for m in factscore(session, ADMIN, p["id"])["models"]}
    good, bad = scores["m-good"], scores["m-bad"]
    assert good["claims_judged"] == 3 and good["responses"] == 2
    assert good["factscore"]["share"] == pytest.approx(2 / 3, abs=1e-3)
    assert good["not_enough_info"]["count"] == 1 and good["refuted"]["count"] == 0
    assert bad["factscore"]["share"] == pytest.approx(1 / 3, abs=1e-3) and bad["refuted"]["count"] == 2
    lo, hi = bad["factscore"]["interval"]
    assert lo < 1 / 3 < hi
    assert good["mean_supported_per_response"] == pytest.approx(0.5)
    report = quality_report(session, ADMIN, p["id"])
    assert {m["model"] for m in report["factscore"]} == {"m-good", "m-bad"}
    from tests.web.helpers import PageClient

    page = PageClient(client, token(session, "manager"), "/manage").get(f"/manage/projects/{p['id']}/quality")
    assert page.status_code == 200 and 'data-factscore="m-bad"' in page.text


def test_claim_model_must_be_registered_and_fit_the_type(session, splitter):
    with pytest.raises(ValidationFailed, match=r"claims\.model: no model endpoint named 'x'"):
        project(session, "factcheck", claims={"model": "x"})
    with pytest.raises(ValidationFailed, match="factcheck projects only"):
        project(session, "label", claims={"model": "splitter"})


def test_a_response_without_claims_is_marked_failed_and_retried(session, splitter):
    p = project(session, "factcheck", claims={"model": "splitter"})
    import_items(session, ADMIN, p["id"], [(1, {"prompt": "Q", "response": "[[reply:]]"})])
    run_jobs(session)
    with uow.read(session):
        item = session.execute(select(Item)).scalar_one()
    assert item.generation == "failed" and "named no claims" in item.meta["generation_error"]
    assert generation.request_generation(session, ADMIN, p["id"])["retried_failed"] == 1


def test_api_and_cli(client, session, splitter, fresh_url, model_server, tmp_path):
    admin = auth(token(session, "admin"))
    p = project(session, "factcheck")
    r = client.get(f"/api/v1/projects/{p['id']}/factscore", headers=admin)
    assert r.status_code == 200 and r.json() == {"project_id": p["id"], "models": []}
    e = expert(session)
    assert client.get(f"/api/v1/projects/{p['id']}/factscore",
                      headers=auth(token(session, "trainer", e["id"]))).status_code == 403
    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    spec = tmp_path / "p.json"
    spec.write_text('{"name": "F", "task_type": "factcheck"}')
    pid = runner.invoke(cli_app, ["project", "create", str(spec)], env=env).output.strip()
    r = runner.invoke(cli_app, ["factscore", pid], env=env)
    assert r.exit_code == 0 and "no judged claims yet" in r.output
