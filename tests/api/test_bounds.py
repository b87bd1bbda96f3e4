"""Every input is bounded by its schema: bad input is a 422 naming the field, in the one
documented error shape, on SQLite and PostgreSQL alike — never a 500."""

from __future__ import annotations

import json

import pytest

from tests.factories import VALID_RESPONSE, auth, expert, item_for, items, project, token

BIG_IDS = [2**31, 2**63, 10**30]


def assert_422(r, loc: str | None = None) -> dict:
    assert r.status_code == 422, r.text
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["errors"], list) and body["errors"], body
    for e in body["errors"]:
        assert set(e) == {"loc", "msg"} and isinstance(e["loc"], str) and isinstance(e["msg"], str), body
    if loc is not None:
        assert any(e["loc"] == loc for e in body["errors"]), body
    return body


@pytest.fixture()
def admin(session):
    return auth(token(session, "admin"))


@pytest.mark.parametrize("big", BIG_IDS)
@pytest.mark.parametrize("path", ["/api/v1/projects/{}", "/api/v1/experts/{}", "/api/v1/assignments/{}",
                                  "/api/v1/items/{}/history", "/api/v1/projects/{}/export?format=sft"])
def test_ids_beyond_the_column_range_are_422_naming_the_parameter(client, admin, path, big):
    r = client.get(path.format(big), headers=admin)
    name = {"projects": "project_id", "experts": "expert_id", "assignments": "assignment_id",
            "items": "item_id"}[path.split("/")[3]]
    assert_422(r, name)


def test_query_bounds_and_fastapi_errors_use_the_documented_shape(client, admin):
    assert_422(client.get("/api/v1/assignments", params={"limit": 0}, headers=admin), "limit")
    assert_422(client.get("/api/v1/assignments", params={"project_id": 2**31}, headers=admin), "project_id")
    assert_422(client.get("/api/v1/projects/abc", headers=admin), "project_id")
    body = assert_422(client.post("/api/v1/projects", headers=admin, content=b"[1,"), "body")
    assert "not valid JSON" in body["errors"][0]["msg"]


@pytest.mark.parametrize(("field", "value"), [("name", "x" * 201), ("name", "Ada\x00Byron"),
                                             ("email", "a" * 320 + "@x.org")])
def test_expert_text_longer_than_its_column_or_with_nul_is_422(client, admin, field, value):
    data = {"name": "Ada", "email": "ada-bounds@example.org", "hourly_rate_usd": "10.00", field: value}
    assert_422(client.post("/api/v1/experts", headers=admin, json=data), field)


def test_lone_surrogates_and_nul_anywhere_in_a_body_are_422(client, admin):
    raw = b'{"name": "P \\ud800", "task_type": "label", "options": {"labels": ["a", "b"]}}'
    assert_422(client.post("/api/v1/projects", headers={**admin, "Content-Type": "application/json"}, content=raw),
               "name")
    body = {"name": "P", "task_type": "label", "options": {"labels": ["a\x00", "b"]}}
    assert_422(client.post("/api/v1/projects", headers=admin, json=body), "options.labels[0]")


def test_bodies_that_cannot_be_decoded_are_422_not_500(client, admin):
    headers = {**admin, "Content-Type": "application/json"}
    assert_422(client.post("/api/v1/experts", headers=headers, content=b'{"name": "\xff\xfe"}'), "body")
    deep = b"[" * 10_000 + b"]" * 10_000
    assert_422(client.post("/api/v1/experts", headers=headers, content=deep), "body")
    assert_422(client.post("/api/v1/experts", headers=headers, content=b'{"a": ' + b"9" * 5000 + b"}"), "body")
    nested = json.dumps({"name": "A", "email": "a@b.org", "domains": json.loads("[" * 100 + "]" * 100)})
    r = client.post("/api/v1/experts", headers=headers, content=nested.encode())
    assert_422(r)
    assert "nested deeper" in r.text


def test_amounts_that_overflow_are_422_naming_the_field(client, admin):
    for budget in ("1" * 40, "9" * 19 + ".00", "1e999999", "NaN", "12,50"):
        r = client.post("/api/v1/projects", headers=admin, json={"name": "P", "task_type": "label",
                                                                 "options": {"labels": ["a", "b"]},
                                                                 "budget_usd": budget})
        assert_422(r, "budget_usd")
    r = client.post("/api/v1/projects", headers=admin, json={"name": "P", "task_type": "label",
                                                             "options": {"labels": ["a", "b"]},
                                                             "budget_usd": 10**25})
    assert_422(r, "budget_usd")


def test_item_fields_are_bounded_by_their_columns_and_size(client, session, admin, app):
    p = project(session, "label")
    r = client.post(f"/api/v1/projects/{p['id']}/items", headers=admin,
                    json=[item_for("label", 0, external_id="e" * 201)])
    body = assert_422(r)
    assert "external_id" in body["errors"][0]["loc"] and "200" in body["errors"][0]["msg"]
    r = client.post(f"/api/v1/projects/{p['id']}/items", headers=admin,
                    json=[item_for("label", 1, priority=2**40)])
    assert_422(r)
    app.state.settings.max_item_bytes = 2_000
    r = client.post(f"/api/v1/projects/{p['id']}/items", headers=admin,
                    json=[item_for("label", 2, text="x" * 5_000), item_for("label", 3)])
    body = assert_422(r, "item 0")
    assert "EXPERTLOOP_MAX_ITEM_BYTES" in body["errors"][0]["msg"]


def test_token_fields_are_bounded(client, admin):
    assert_422(client.post("/api/v1/tokens", headers=admin, json={"role": "manager", "label": "l" * 201}), "label")
    assert_422(client.post("/api/v1/tokens", headers=admin, json={"role": "manager", "label": "a\x00"}), "label")
    r = client.post("/api/v1/tokens", headers=admin, json={"role": "trainer", "expert_id": 2**40})
    assert r.status_code == 404, r.text


def test_idempotency_key_is_bounded(client, session):
    e = expert(session)
    p = project(session, "label")
    items(session, p["id"], "label", 1)
    trainer = auth(token(session, "trainer", e["id"]))
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit",
                    headers={**trainer, "Idempotency-Key": "k" * 201}, json={"response": {"label": "yes"}})
    assert_422(r, "Idempotency-Key")


def test_the_readme_curl_submit_works_without_a_content_type(client, session):
    """``curl -d`` sends ``application/x-www-form-urlencoded``; the body is still read as JSON."""
    e = expert(session)
    p = project(session, "preference")
    items(session, p["id"], "preference", 1)
    trainer = auth(token(session, "trainer", e["id"]))
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    body = json.dumps({"response": VALID_RESPONSE["preference"]}).encode()
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit",
                    headers={**trainer, "Idempotency-Key": "a1", "Content-Type": "application/x-www-form-urlencoded"},
                    content=body)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit",
                    headers={**trainer, "Idempotency-Key": "a1"}, content=body)  # no Content-Type at all
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted"


def test_openapi_names_every_response_and_the_error_body(client):
    spec = client.get("/openapi.json").json()
    assert "ErrorBody" in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][ok].get("content", {})
            if path.endswith("/export"):
                assert "application/x-ndjson" in content and "application/vnd.apache.parquet" in content
            elif path.endswith("/download"):  # an export's file (a signed export's is a ZIP)
                assert {"application/x-ndjson", "application/vnd.apache.parquet", "application/zip"} <= set(content)
            elif not path.endswith("/health"):
                schema = content["application/json"]["schema"]
                assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
            if path.startswith("/api/") and not path.endswith("/health"):
                for code in ("401", "422"):
                    ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, code)
