"""The demo adds a live-chat project only when a real model is configured for it, and it works
against that model (here the test model server)."""

from __future__ import annotations

from expertloop.demo.seed import seed_demo
from expertloop.services import models
from expertloop.services.projects import list_projects
from tests.factories import ADMIN


def test_the_demo_chats_with_the_configured_model_only(session, model_server):
    seed_demo(session)
    assert "chat" not in {p["task_type"] for p in list_projects(session, ADMIN)}


def test_the_demo_registers_the_model_and_a_chat_project(session, model_server):
    seed_demo(session, model_url=model_server.base_url, model="test-model")
    [chat] = [p for p in list_projects(session, ADMIN) if p["task_type"] == "chat"]
    [endpoint] = models.list_endpoints(session)
    assert chat["options"]["model"] == endpoint["name"] == "demo-model"
    assert endpoint["base_url"] == model_server.base_url and endpoint["model"] == "test-model"
    assert models.check_endpoint(session, None, "demo-model")["ok"]
