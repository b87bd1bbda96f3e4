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
