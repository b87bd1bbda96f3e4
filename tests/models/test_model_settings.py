"""A project's model settings changed after creation (``PATCH /projects/{id}/models``, the service
the console's models page calls): the creation rules check them, every problem is named by its
field, endpoints must be registered, and the change says what it did to work in flight. Also the
endpoint summary the console lists and the test call it queues as a job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expertloop.services import model_settings, models, uow
from expertloop.storage.orm import Item, Project
from tests.factories import ADMIN, auth, expert, project, run_jobs, token


@pytest.fixture()
def endpoints(session, fresh_model_server):
    for name in ("model-a", "model-b"):
        models.add_endpoint(session, ADMIN, name, fresh_model_server.base_url, f"{name}-weights")
    return fresh_model_server


def _patch(client, headers, pid, body):
    return client.patch(f"/api/v1/projects/{pid}/models", headers=headers, json=body)


def _locs(r) -> set[str]:
    return {e["loc"] if isinstance(e["loc"], str) else ".".join(map(str, e["loc"])) for e in r.json()["errors"]}


def test_candidates_set_after_creation_write_the_answers_of_items_imported_then(client, session, endpoints):
    manager = auth(token(session, "manager"))
    pid = project(session, "preference")["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=manager, json=[{"prompt": "Why?"}])
    assert r.status_code == 422                                          # no answers and no candidate models
    r = _patch(client, manager, pid, {"candidates": {"models": ["model-a", "model-b"], "temperature": 0.5}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["candidates"] == {"models": ["model-a", "model-b"], "per_item": 2, "temperature": 0.5,
                                  "max_tokens": None}
    assert "candidates now from model-a, model-b" in body["effects"][0]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=manager, json=[{"prompt": "Why is the sky blue?"}])
    assert r.status_code == 201 and r.json()["awaiting_candidates"] == 1, r.text
    assert run_jobs(session) == 1
    with uow.read(session):
        [item] = session.execute(select(Item).where(Item.project_id == pid)).scalars()
        assert item.generation is None and item.target_overlap > 0
        assert sorted(a["model"] for a in item.payload["responses"]) == ["model-a", "model-b"]
    assert _patch(client, manager, pid, {"candidates": {"models": ["model-a"]}}).json()["effects"]  # replaced
    r = _patch(client, manager, pid, {})
    assert r.status_code == 200 and r.json()["effects"] == ["nothing changed"]


def test_every_problem_is_named_by_its_field_and_nothing_changes(client, session, endpoints):
    manager = auth(token(session, "manager"))
    pid = project(session, "preference")["id"]
    r = _patch(client, manager, pid, {"candidates": {"models": ["model-a"], "per_item": 3, "temperature": 9},
                                      "claims": {"model": "model-a"}, "judge_first": {"model": "model-a",
                                                                                      "min_agreement": 0.2},
                                      "ai_assistance": {"model": "model-a", "kind": "draft"}, "colour": "red"})
    assert r.status_code == 422
    assert {"candidates.per_item", "candidates.temperature", "claims", "judge_first.min_agreement",
            "options.ai_assistance", "colour"} <= _locs(r), r.text
    r = _patch(client, manager, pid, {"candidates": {"models": ["nobody"]}, "judge_first": {"model": "ghost"}})
    assert r.status_code == 422 and _locs(r) == {"candidates.models[0]", "judge_first.model"}, r.text
    with uow.read(session):
        assert session.get(Project, pid).models is None
    r = _patch(client, manager, pid, ["not", "an", "object"])
    assert r.status_code == 422
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    assert _patch(client, trainer, pid, {"candidates": None}).status_code == 403
    assert _patch(client, manager, 999_999, {}).status_code == 404


def test_clearing_judge_first_opens_the_items_waiting_for_the_judge(client, session, endpoints):
    manager = auth(token(session, "manager"))
    pid = project(session, "preference", judge_first={"model": "model-a", "min_agreement": 0.8})["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=manager, json=[
        {"prompt": "Q", "responses": [{"text": "short"}, {"text": "a much longer answer"}]}])
    assert r.status_code == 201, r.text
    with uow.read(session):
        assert session.execute(select(Item.generation).where(Item.project_id == pid)).scalar_one() == "screening"
    r = _patch(client, manager, pid, {"judge_first": None})
    assert r.status_code == 200, r.text
    assert "the 1 item waiting for the judge open for experts" in r.json()["effects"][0]
    with uow.read(session):
        item = session.execute(select(Item).where(Item.project_id == pid)).scalar_one()
        assert item.generation is None and item.target_overlap > 0


def test_candidates_are_not_cleared_while_items_wait_for_them(client, session, endpoints):
    manager = auth(token(session, "manager"))
    pid = project(session, "preference", candidates={"models": ["model-a"], "per_item": 2})["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=manager, json=[{"prompt": "Why?"}])
    assert r.status_code == 201
    r = _patch(client, manager, pid, {"candidates": None})
    assert r.status_code == 422 and _locs(r) == {"candidates"} and "1 item still wait" in r.text


def test_ai_help_set_after_creation_queues_its_suggestions(client, session, endpoints):
    manager = auth(token(session, "manager"))
    pid = project(session, "sft")["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", headers=manager, json=[{"prompt": "Explain tides."}])
    assert r.status_code == 201
    r = _patch(client, manager, pid, {"ai_assistance": {"model": "model-a", "kind": "preselect"}})
    assert r.status_code == 422 and _locs(r) == {"options.ai_assistance.kind"}
    r = _patch(client, manager, pid, {"ai_assistance": {"model": "ghost", "kind": "draft"}})
    assert r.status_code == 422 and _locs(r) == {"options.ai_assistance.model"}
    r = _patch(client, manager, pid, {"ai_assistance": {"model": "model-a", "kind": "draft"}})
    assert r.status_code == 200 and r.json()["ai_assistance"] == {"model": "model-a", "kind": "draft"}, r.text
    with uow.read(session):
        assert session.get(Project, pid).options["ai_assistance"] == {"model": "model-a", "kind": "draft"}
    assert run_jobs(session) == 1                                        # the suggestion job
    r = _patch(client, manager, pid, {"ai_assistance": None})
    assert r.status_code == 200 and "AI help cleared" in r.json()["effects"][0]


def test_the_endpoint_list_sums_calls_and_shows_the_last_test(session, endpoints):
    listed = {e["name"]: e for e in models.list_endpoints(session, ADMIN)}
    assert listed["model-a"]["calls"] == 0 and listed["model-a"]["last_test"] is None
    queued = models.request_test(session, ADMIN, "model-a")
    assert {e["name"]: e for e in models.list_endpoints(session, ADMIN)}["model-a"]["testing"] is True
    assert run_jobs(session) == 1 and queued["job_id"]
    a = {e["name"]: e for e in models.list_endpoints(session, ADMIN)}["model-a"]
    assert a["testing"] is False and a["calls"] == 1 and a["errors"] == 0
    assert a["last_test"]["ok"] is True and a["last_test"]["model"] == "model-a-weights"
    assert a["tokens_in"] > 0 and a["tokens_out"] > 0 and a["mean_latency_ms"] is not None
    assert "key" not in {k for k in a if k != "api_key_env" and k != "api_key_set"}


def test_model_settings_read_counts_the_items_waiting(session, endpoints):
    pid = project(session, "factcheck")["id"]
    s = model_settings.model_settings(session, ADMIN, pid)
    assert s["allows"] == {"candidates": False, "claims": True, "judge_first": False, "ai_assistance": True,
                           "judge": True}
    assert s["items"]["pending"] == 0
