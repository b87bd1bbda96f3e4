"""A schema-driven fuzzer against the live app: no input may produce a 5xx.

Schemathesis reads ``/openapi.json`` and sends generated requests — valid ones and ones that
break the schema (ids out of range, wrong types, odd strings) — to every operation, as a
manager and as a trainer, on SQLite and (with ``EXPERTLOOP_TEST_DATABASE_URL``) PostgreSQL,
where out-of-range integers, over-long strings and NUL characters used to become 500s. The
number of examples is bounded (``EXPERTLOOP_FUZZ_EXAMPLES``, default 12 per operation and
mode) so the run takes well under two minutes.
"""

from __future__ import annotations

import os
import warnings

import pytest

from tests.factories import auth, expert, items, project, token

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

EXAMPLES = int(os.environ.get("EXPERTLOOP_FUZZ_EXAMPLES", "12"))


def _check(case, label: str, headers: dict, failures: list[str]) -> None:
    try:
        response = case.call(headers=headers)
    except Exception as exc:  # the app raised: a 500 in production
        failures.append(f"{label}: raised {type(exc).__name__}: {exc} "
                        f"(path={case.path_parameters}, query={case.query}, body={case.body!r:.200})")
        return
    if response.status_code >= 500:
        failures.append(f"{label}: {response.status_code} (path={case.path_parameters}, "
                        f"query={case.query}, body={case.body!r:.200})")
    elif 400 <= response.status_code < 500:
        body = response.json()
        if not isinstance(body.get("detail"), str):
            failures.append(f"{label}: {response.status_code} without a string detail: {body!r:.200}")


def _runner(strategy, label: str, headers: dict, failures: list[str]):
    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
               phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case) -> None:
        _check(case, label, headers, failures)

    return run


def _fuzz(schema, headers: dict) -> list[str]:
    """Every operation, positive and negative cases; the 5xx (or raised) ones, described."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # an operation schemathesis cannot negate (no parameters)
                if mode == GenerationMode.NEGATIVE:
                    continue
                raise AssertionError(f"{operation.label}: {exc}") from exc
            try:
                _runner(strategy, operation.label, headers, failures)()
            except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters)
                if mode != GenerationMode.NEGATIVE:
                    raise
    return failures


@pytest.mark.fuzz
@pytest.mark.parametrize("role", ["manager", "trainer"])
def test_no_input_produces_a_server_error(app, session, role):
    e = expert(session)
    p = project(session, budget_usd="1000.00")
    items(session, p["id"], "preference", 5)
    tok = token(session, role, e["id"] if role == "trainer" else None)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        failures = _fuzz(schema, auth(tok))
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(sorted(set(failures))[:40])


HOSTILE = [2**31, 2**63, -(2**63) - 1, 10**30, -1, 0, 1.5, True, None, "", "x" * 5000, "a\x00b", "\ud800",
           [], {}, ["\x00"], {"\x00": 1}, "12,50", "1e999999", "9" * 30]


def _mutations(example):
    """The example body with one field (top level, or one level down) replaced by each hostile value."""
    if not isinstance(example, dict):
        return
    for key, value in example.items():
        for bad in HOSTILE:
            yield {**example, key: bad}
        if isinstance(value, dict):
            for inner in value:
                for bad in HOSTILE:
                    yield {**example, key: {**value, inner: bad}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                for bad in HOSTILE:
                    yield {**example, key: [{**value[0], inner: bad}, *value[1:]]}


@pytest.mark.fuzz
def test_hostile_values_in_every_body_field_never_produce_a_server_error(client, session):
    """Each documented example body, one field at a time replaced by a value the database
    cannot store as is (out-of-range integers, over-long text, NUL, lone surrogates, wrong
    types, ambiguous amounts), sent to real ids as a manager and as a trainer."""
    import json

    e = expert(session)
    p = project(session, budget_usd="1000.00")
    items(session, p["id"], "preference", 3)
    manager = auth(token(session, "manager"))
    trainer = auth(token(session, "trainer", e["id"]))
    lease = client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=trainer).json()
    staff_view = client.get(f"/api/v1/assignments/{lease['assignment_id']}", headers=manager).json()
    ids = {"project_id": p["id"], "expert_id": e["id"], "assignment_id": lease["assignment_id"],
           "item_id": staff_view["item"]["id"], "exam_id": 1, "attempt_id": 1, "token_id": 1, "job_id": 1,
           "task_id": 1, "period_id": 1, "dispute_id": 1,
           "check_id": 1, "export_id": 1, "invitation_id": 1}
    spec = client.get("/openapi.json").json()
    failures = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            examples = content.get("examples") or {}
            bodies = [ex.get("value") for ex in examples.values()] if isinstance(examples, dict) else []
            if "example" in content:
                bodies.append(content["example"])
            schema_examples = content.get("schema", {}).get("examples") or []
            bodies += schema_examples
            url = path.format(**ids)
            for body in bodies:
                for mutated in _mutations(body if not isinstance(body, list) else body[0]):
                    payload = [mutated] if isinstance(body, list) else mutated
                    raw = json.dumps(payload, ensure_ascii=True).encode()
                    for headers in (manager, trainer):
                        r = client.request(method.upper(), url, content=raw,
                                           headers={**headers, "Content-Type": "application/json"})
                        if r.status_code >= 500:
                            failures.append(f"{method.upper()} {path}: {r.status_code} for {raw[:160]!r}")
                        elif r.status_code >= 400 and not isinstance(r.json().get("detail"), str):
                            failures.append(f"{method.upper()} {path}: {r.status_code} shape {r.text[:160]}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
