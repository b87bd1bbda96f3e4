"""The Python client: every route it calls exists in the server's OpenAPI document, and a whole
programme (project, items, lease, submit, retry, export, quality, tokens) runs through it against
the real application."""

from __future__ import annotations

import httpx
import pytest

from expertloop.client import ENDPOINTS, ApiError, Client
from tests.factories import expert, item_for, token


def test_every_endpoint_the_client_calls_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    missing = [f"{name}: {method} {template}" for name, (method, template) in ENDPOINTS.items()
               if method.lower() not in paths.get("/api/v1" + template, {})]
    assert not missing, f"the client calls routes the server does not have: {missing}"
    public = [name for name in vars(Client) if not name.startswith("_")]
    uncalled = set(ENDPOINTS) - set(public)
    assert not uncalled, f"endpoints without a method: {uncalled}"


def test_a_programme_runs_through_the_client(client, session):
    manager = Client(token=token(session, "manager"), http=client)
    e = expert(session)
    trainer = Client(token=token(session, "trainer", e["id"]), http=client)
    project = manager.create_project({"name": "SDK pairs", "task_type": "preference", "guidelines": "Pick.",
                                      "overlap": 1})
    counts = manager.import_items(project["id"], (item_for("preference", n) for n in range(5)), batch_size=2)
    assert counts["imported"] == 5
    again = manager.import_items(project["id"], [item_for("preference", 0)])
    assert again["imported"] == 0 and again["skipped_existing"] == 1

    submitted = []
    for task in trainer.tasks(project["id"]):
        assert "gold" not in task.item and task.task_type == "preference"
        key = f"k{task.assignment_id}"
        first = trainer.submit(task.assignment_id, {"choice": 0, "strength": 2}, idempotency_key=key)
        retry = trainer.submit(task.assignment_id, {"choice": 0, "strength": 2}, idempotency_key=key)
        assert retry["assignment_id"] == first["assignment_id"] and retry["state"] == first["state"] == "submitted"
        submitted.append(task.assignment_id)
    assert len(submitted) == 5
    assert trainer.next_task(project["id"]) is None

    records = list(manager.export(project["id"], "preference"))
    assert len(records) == 5 and {"prompt", "chosen", "rejected"} <= set(records[0])
    dataset = manager.export_dataset(project["id"], "preference")
    assert dataset.num_rows == 5 and "chosen" in dataset.column_names
    assert manager.project(project["id"])["id"] == project["id"]
    assert "agreement" in manager.quality(project["id"]) or manager.quality(project["id"])
    assert any(a["action"] == "project.created" for a in manager.audit(project_id=project["id"]))


def test_errors_carry_the_servers_detail_and_locations(client, session):
    manager = Client(token=token(session, "manager"), http=client)
    with pytest.raises(ApiError) as caught:
        manager.create_project({"name": "", "task_type": "nonsense"})
    assert caught.value.status == 422 and caught.value.errors
    assert {err["loc"] for err in caught.value.errors} & {"task_type", "name"}
    with pytest.raises(ApiError) as caught:
        Client(token="el_wrong", http=client).me()
    assert caught.value.status == 401


class FlakyTransport(httpx.BaseTransport):
    """Answers 503 (with Retry-After: 0) to the first ``failures`` requests, then passes them on."""

    def __init__(self, inner: httpx.BaseTransport, failures: int):
        self.inner, self.failures, self.seen = inner, failures, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "busy"})
        answer = self.inner.handle_request(request)
        # The application's test transport streams in its own way; hand httpx a plain body.
        return httpx.Response(answer.status_code, headers=answer.headers, content=b"".join(answer.stream))


def test_safe_calls_are_retried_and_unsafe_ones_are_not(client, session):
    tok = token(session, "manager")
    flaky = FlakyTransport(client._transport, failures=2)
    with httpx.Client(transport=flaky, base_url="http://testserver") as http:
        api = Client(token=tok, http=http, backoff=0)
        assert api.me()["role"] == "manager"  # two 503s, then the answer
        assert flaky.seen == 3
        flaky.failures, flaky.seen = 1, 0
        with pytest.raises(ApiError) as caught:  # creating a project is not repeated blindly
            api.create_project({"name": "Once", "task_type": "label", "guidelines": "g",
                                "options": {"labels": ["a", "b"]}})
        assert caught.value.status == 503 and flaky.seen == 1


def test_models_in_the_loop_through_the_client(client, session, fresh_model_server):
    """An admin registers an endpoint, a manager sets candidates, generates and judges through the client;
    keys stay names; a manager cannot register."""
    from tests.factories import run_jobs

    admin = Client(token=token(session, "admin"), http=client)
    manager = Client(token=token(session, "manager"), http=client)
    added = admin.add_model("sdk-model", fresh_model_server.base_url, "sdk-weights", max_concurrency=2)
    assert added["name"] == "sdk-model" and "api_key" not in added
    with pytest.raises(ApiError) as caught:
        manager.add_model("other", fresh_model_server.base_url, "w")
    assert caught.value.status == 403
    assert [m["name"] for m in manager.models()] == ["sdk-model"]

    project = manager.create_project({"name": "SDK candidates", "task_type": "preference",
                                      "guidelines": "Pick.", "overlap": 1})
    settings = manager.set_project_models(project["id"], candidates={"models": ["sdk-model"], "per_item": 2,
                                                                     "temperature": 0.5})
    assert settings["candidates"]["models"] == ["sdk-model"]
    with pytest.raises(ApiError) as caught:
        manager.set_project_models(project["id"], candidates={"models": ["nobody"], "per_item": 2})
    assert caught.value.status == 422
    manager.import_items(project["id"], [{"external_id": "q1", "prompt": "Why is the sky blue?"}])
    queued = manager.generate(project["id"])
    assert queued["job_id"]
    run_jobs(session)
    assert manager.wait_for_job(queued["job_id"], timeout=5)["state"] == "done"
    assert {c["purpose"] for c in manager.model_calls(project_id=project["id"])} == {"candidates"}
    judged = manager.judge(project["id"], "sdk-model")
    run_jobs(session)
    assert manager.wait_for_job(judged["job_id"], timeout=5)["state"] == "done"
    assert manager.factscore(project["id"])["project_id"] == project["id"]
