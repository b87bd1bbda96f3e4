"""The model pages without a browser: a fact-check project's claim model set from its models page,
the split run from the button and the claims shown; the form sends only the sections the task
type has; a manager's forged registration is refused. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.datastructures import FormData

from expertloop.services import models, uow
from expertloop.storage.orm import Item, ModelEndpoint, Project
from expertloop.web.models import models_from_form
from tests.factories import ADMIN, project, run_jobs, token

from .helpers import PageClient


def test_the_form_sends_only_the_sections_the_type_has():
    form = FormData([("candidates_models", "a"), ("candidates_models", "b"), ("candidates_per_item", "2"),
                     ("candidates_temperature", "70%"), ("claims_model", "c"), ("judge_first_model", ""),
                     ("ai_model", "d"), ("ai_kind", "draft")])
    assert models_from_form(form, {"candidates": True, "judge_first": True}) == {
        "candidates": {"models": ["a", "b"], "per_item": 2, "temperature": 0.7}, "judge_first": None}
    assert models_from_form(form, {"claims": True, "ai_assistance": True}) == {
        "claims": {"model": "c"}, "ai_assistance": {"model": "d", "kind": "draft"}}
    assert models_from_form(FormData([("candidates_temperature", "hot")]), {"candidates": True}) == {
        "candidates": None}                                              # no model ticked: cleared


def test_a_claim_model_set_in_the_console_splits_responses_from_the_button(app, session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "splitter", fresh_model_server.base_url, "split-weights")
    pid = project(session, "factcheck")["id"]
    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "manager"), "/manage")
        r = page.post(f"/manage/projects/{pid}/models", {"claims_model": "ghost"})
        assert r.status_code == 422 and "claims.model" in r.text and "ghost" in r.text
        r = page.post(f"/manage/projects/{pid}/models", {"claims_model": "splitter"})
        assert r.status_code == 303, r.text[:300]
        with uow.read(session):
            assert session.get(Project, pid).models == {"claims": {"model": "splitter"}}
        r = raw.post(f"/api/v1/projects/{pid}/items", headers={"Authorization": f"Bearer {token(session, 'admin')}"},
                     json=[{"prompt": "Tell me about Paris.", "response": "Paris is in France. It has a tower."}])
        assert r.status_code == 201, r.text
        r = page.post(f"/manage/projects/{pid}/generate", {})
        assert r.status_code == 303
        assert run_jobs(session) >= 1
        r = page.get(f"/manage/projects/{pid}/models")
        assert r.status_code == 200
        assert "Split claims (run or resume)" in r.text
        assert r.text.count("data-claim>") == 2 and "Paris is in France." in r.text
        assert 'data-job-kind="split_claims" data-state="done"' in r.text
    with uow.read(session):
        item = session.execute(select(Item).where(Item.project_id == pid)).scalar_one()
        assert item.payload["claims"] == ["Paris is in France.", "It has a tower."] and item.generation is None


def test_a_manager_cannot_register_an_endpoint_from_the_console(app, session):
    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "manager"), "/manage")
        r = page.get("/manage/models")
        assert r.status_code == 200 and "data-register-model" not in r.text and "data-admins-register" in r.text
        r = page.post("/manage/models", {"name": "sneaky", "base_url": "http://127.0.0.1:9/v1", "model": "m"})
        assert r.status_code == 403 and "only admins" in r.text
        admin = PageClient(raw, token(session, "admin"), "/manage")
        r = admin.post("/manage/models", {"name": "ok", "base_url": "http://127.0.0.1:9/v1", "model": "m",
                                          "api_key_env": "DATABASE_URL", "timeout_s": "soon"})
        assert r.status_code == 422 and "api_key_env" in r.text and "timeout_s" in r.text
    with uow.read(session):
        assert session.execute(select(ModelEndpoint.name)).scalars().all() == []
