"""Model endpoints through the service, the API and the CLI on a real database: registered,
listed, tested, every call recorded; the key is only ever an environment variable's name."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from expertloop import llm
from expertloop.cli.main import app as cli_app
from expertloop.domain.errors import Conflict, PermissionDenied, ValidationFailed
from expertloop.domain.policies import Actor, Role
from expertloop.services import models as svc
from expertloop.services import uow
from expertloop.services.uow import UnitOfWorkError
from expertloop.storage.orm import ModelCall, ModelEndpoint
from tests.factories import ADMIN, auth, expert, token

runner = CliRunner()


def test_register_list_and_call_records_every_call(session, fresh_model_server):
    row = svc.add_endpoint(session, ADMIN, "local", fresh_model_server.base_url + "/", "test-model",
                           max_concurrency=3, timeout_s=5)
    assert row["base_url"] == fresh_model_server.base_url and row["api_key_env"] is None
    got = svc.call(session, "local", [{"role": "user", "content": "hi"}], purpose="candidates", n=2, temperature=0.5)
    assert [c.text for c in got] == ["test-model answer 0: hi", "test-model answer 1: hi"]
    with pytest.raises(llm.ModelRequestError):
        svc.call(session, "local", [{"role": "user", "content": "[[error:400]]"}], purpose="judge")
    with uow.read(session):
        calls = session.execute(select(ModelCall).order_by(ModelCall.id)).scalars().all()
    assert [(c.purpose, c.status, c.n, c.model) for c in calls] == [("candidates", "ok", 2, "test-model"),
                                                                   ("judge", "error", 1, "test-model")]
    assert calls[0].tokens_in == 1 and calls[0].tokens_out == 8 and calls[0].params == {"n": 2, "temperature": 0.5}
    assert "HTTP 400" in calls[1].error
    [listed] = svc.list_endpoints(session, ADMIN)
    assert listed["calls"] == 2 and listed["max_concurrency"] == 3 and listed["timeout_s"] == 5.0
    assert [c["purpose"] for c in svc.list_calls(session, ADMIN, name="local")] == ["judge", "candidates"]


def test_a_model_call_never_runs_inside_a_transaction(session, fresh_model_server):
    svc.add_endpoint(session, ADMIN, "local", fresh_model_server.base_url, "test-model")
    with uow.write(session), pytest.raises(UnitOfWorkError):
        svc.call(session, "local", [{"role": "user", "content": "hi"}], purpose="x")
    assert not fresh_model_server.requests


def test_bad_endpoints_are_refused_with_every_problem_located(session):
    with pytest.raises(ValidationFailed) as exc:
        svc.add_endpoint(session, ADMIN, "bad name!", "ftp://x", "", api_key_env="sk-abc123",
                         max_concurrency=0, timeout_s=-1)
    locs = {p.loc for p in exc.value.problems}
    assert locs == {"name", "base_url", "model", "api_key_env", "max_concurrency", "timeout_s"}
    with pytest.raises(ValidationFailed, match="credentials"):
        svc.add_endpoint(session, ADMIN, "x", "http://user:pw@host/v1", "m")
    with pytest.raises(ValidationFailed, match="NUL"):
        svc.add_endpoint(session, ADMIN, "x", "http://host/v1", "m\x00")
    svc.add_endpoint(session, ADMIN, "x", "http://host/v1", "m", api_key_env="OPENAI_API_KEY")
    with pytest.raises(Conflict):
        svc.add_endpoint(session, ADMIN, "x", "http://other/v1", "m")
    with pytest.raises(PermissionDenied):
        svc.add_endpoint(session, Actor(role=Role.reviewer, expert_id=1), "y", "http://host/v1", "m")


def test_api_staff_register_and_list_the_key_is_never_shown(client, session, monkeypatch):
    monkeypatch.setenv("EL_API_KEY_FOR_TEST", "sk-very-secret")
    manager = auth(token(session, "admin"))  # registering is for admins: the server sends the key
    body = {"name": "openai", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini",
            "api_key_env": "EL_API_KEY_FOR_TEST", "max_concurrency": 8, "timeout_s": 30}
    refused = client.post("/api/v1/models", headers=auth(token(session, "manager")), json=body)
    assert refused.status_code == 403 and "admins" in refused.json()["detail"]
    r = client.post("/api/v1/models", headers=manager, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["api_key_env"] == "EL_API_KEY_FOR_TEST" and r.json()["api_key_set"] is True
    assert client.post("/api/v1/models", headers=manager, json=body).status_code == 409
    r = client.get("/api/v1/models", headers=manager)
    assert r.status_code == 200 and [m["name"] for m in r.json()] == ["openai"]
    assert "sk-very-secret" not in r.text
    with uow.read(session):
        stored = session.execute(select(ModelEndpoint)).scalar_one()
    assert "sk-very-secret" not in repr([getattr(stored, c.key) for c in ModelEndpoint.__table__.columns])

    e = expert(session)
    trainer = auth(token(session, "trainer", e["id"]))
    assert client.get("/api/v1/models", headers=trainer).status_code == 403
    assert client.post("/api/v1/models", headers=trainer, json={**body, "name": "t2"}).status_code == 403
    r = client.post("/api/v1/models", headers=manager, json={"name": "b", "base_url": "nope", "model": "m",
                                                             "max_concurrency": 10**12})
    assert r.status_code == 422 and {e["loc"] for e in r.json()["errors"]} == {"base_url", "max_concurrency"}
    r = client.post("/api/v1/models", headers=manager, json={"name": "b", "base_url": "http://h/v1", "model": "m",
                                                             "api_key": "sk-x"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "api_key"
    r = client.get("/api/v1/model-calls", headers=manager, params={"model": "openai"})
    assert r.status_code == 200 and r.json() == []
    assert client.get("/api/v1/model-calls", headers=trainer).status_code == 403
    assert client.get("/api/v1/model-calls", headers=manager, params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/model-calls", headers=manager, params={"model": "a\x00b"}).status_code == 422


def test_cli_add_list_test(fresh_url, model_server):
    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    r = runner.invoke(cli_app, ["models", "add", "local", "--base-url", model_server.base_url, "--model", "tm",
                                "--max-concurrency", "2", "--timeout", "5"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["models", "add", "keyed", "--base-url", model_server.base_url, "--model", "tm",
                                "--api-key-env", "EL_UNSET_KEY_VAR"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["models", "list"], env=env)
    assert r.exit_code == 0 and "local" in r.output and "EL_UNSET_KEY_VAR (NOT set)" in r.output
    r = runner.invoke(cli_app, ["models", "list", "--json"], env=env)
    assert r.exit_code == 0 and [m["name"] for m in json.loads(r.output)] == ["keyed", "local"]
    r = runner.invoke(cli_app, ["models", "test", "local"], env=env)
    assert r.exit_code == 0, r.output
    assert "local: ok, tm answered" in r.output
    r = runner.invoke(cli_app, ["models", "calls", "local"], env=env)
    assert r.exit_code == 0 and r.output.split()[1:3] == ["local", "test"] and r.output.split()[-1] == "ok"
    r = runner.invoke(cli_app, ["models", "test", "keyed"], env=env)
    assert r.exit_code == 1 and "EL_UNSET_KEY_VAR" in r.output and "is not set" in r.output
    r = runner.invoke(cli_app, ["models", "test", "nope"], env=env)
    assert r.exit_code == 1 and "no model endpoint named 'nope'" in r.output
    r = runner.invoke(cli_app, ["models", "add", "local", "--base-url", "http://x/v1", "--model", "m"], env=env)
    assert r.exit_code == 1 and "exists already" in r.output
    r = runner.invoke(cli_app, ["models", "add", "z", "--base-url", "x", "--model", "m"], env=env)
    assert r.exit_code == 1 and "base_url" in r.output


@pytest.mark.parametrize("variable", ["EXPERTLOOP_DATABASE_URL", "EXPERTLOOP_SMTP_URL", "DATABASE_URL", "HOME"])
def test_an_endpoint_cannot_carry_a_variable_that_is_not_a_key(session, variable):
    """The named variable's value is sent to the endpoint's address as its key: only names that
    say they hold a key are accepted, never one of the server's own settings."""
    with pytest.raises(ValidationFailed) as caught:
        svc.add_endpoint(session, ADMIN, "leak", "http://attacker.example/v1", "m", api_key_env=variable)
    assert caught.value.problems[0].loc == "api_key_env"
