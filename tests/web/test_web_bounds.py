"""Every page route, walked without a browser: ids outside the column range and hostile form
text (NUL, lone surrogates, 100,000+ characters) get the page's normal 4xx, never a 500, and
change nothing. Runs on SQLite, and on PostgreSQL when ``EXPERTLOOP_TEST_DATABASE_URL`` is set
(PostgreSQL is the strict one: ``integer`` ids, no NUL in text)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as assignments_svc
from expertloop.services import exams as exams_svc
from expertloop.services import tokens as tokens_svc
from expertloop.services import uow
from expertloop.storage.orm import Assignment, Base, Project
from expertloop.web import common
from expertloop.web.forms import form_problems
from tests.factories import ADMIN, expert, items, project, staff_item, token
from tests.web.helpers import PageClient

BAD_IDS = [0, -1, 2**31, 2**63]
HOSTILE = {"nul": "a\x00b", "surrogate": "x\ud800y", "long": "x" * 100_001}
TEMPLATES = Path(common.__file__).parent / "templates"
EXAM = {"name": "Bounds exam", "domain": "history", "level": 1, "task_type": "label",
        "options": {"labels": ["true", "false"]}, "pass_mark": 0.5, "time_limit_minutes": 20,
        "questions": [{"text": f"Statement {i}", "gold": "true"} for i in range(2)]}


def form_fields() -> list[str]:
    """Every literal form field name in the page templates, plus the templated ones the
    label task and its exam use."""
    names = set()
    for path in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'name="([^"{]+)"', path.read_text()))
    names.discard("csrf_token")
    return sorted(names | {"label", "q1:label", "q2:label", "evidence", "labels"})


def api_routes(routes) -> list[APIRoute]:
    """The app's routes, with included routers expanded (the pages are mounted without a prefix)."""
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # newer FastAPI keeps included routers as one entry
            out.extend(api_routes(route.original_router.routes))
    return out


def web_routes(app) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in api_routes(app.routes):
        if route.endpoint.__module__.startswith("expertloop.web."):
            out.extend((method, route.path, route) for method in sorted(route.methods) if method in ("GET", "POST"))
    assert len(out) > 30, out  # the walk covers the console, not a handful of pages
    return out


def reads_form(route: APIRoute) -> bool:
    def walk(dep) -> bool:
        return dep.call is common.form_data or any(walk(d) for d in dep.dependencies)
    return walk(route.dependant)


@pytest.fixture()
def world(app, session, settings):
    """A manager and a trainer signed in, and one of everything a path can name."""
    p = project(session, "label")
    items(session, p["id"], "label", 4)
    e = expert(session, domains={"history": 2})
    trainer = Actor(role=Role.trainer, expert_id=e["id"])
    done = assignments_svc.lease_next(session, trainer, p["id"])
    assignments_svc.submit(session, trainer, done["assignment_id"], {"label": "yes"}, settings)
    live = assignments_svc.lease_next(session, trainer, p["id"])
    exam = exams_svc.create_exam(session, ADMIN, EXAM)
    attempt = exams_svc.start_attempt(session, trainer, exam["id"])
    spare = tokens_svc.create_token(session, "trainer", e["id"], "spare")
    real = {"project_id": p["id"], "expert_id": e["id"], "item_id": staff_item(session, live)["id"],
            "assignment_id": done["assignment_id"], "exam_id": exam["id"], "attempt_id": attempt["attempt_id"],
            "task_id": 1, "period_id": 1, "dispute_id": 1, "export_id": 1, "check_id": 1,
            "token_id": spare["id"], "secret": "s" * 43}  # no such invitation or reset link
    with TestClient(app) as manager, TestClient(app) as trainer_client:  # one cookie jar each
        users = {"manager": PageClient(manager, token(session, "manager"), "/manage"),
                 "trainer": PageClient(trainer_client, token(session, "trainer", e["id"]), "/work")}
        yield {"real": real, "users": users, "live": live["assignment_id"]}


def snapshot(session) -> dict:
    """Row counts of every table, and every assignment's state and feedback."""
    session.expire_all()
    with uow.read(session):
        counts = {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in Base.metadata.sorted_tables}
        rows = session.execute(select(Assignment.id, Assignment.state, Assignment.review_feedback)
                               .order_by(Assignment.id)).all()
        names = session.execute(select(Project.id, Project.name).order_by(Project.id)).all()
    return {"counts": counts, "assignments": rows, "projects": names}


def fill(path: str, ids: dict[str, int], bad: int | None = None) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(bad if bad is not None else ids[m.group(1)]), path)


def test_form_problems_name_each_bad_field():
    from starlette.datastructures import FormData

    form = FormData([("feedback", "ok"), ("name", "a\x00b"), ("reason", "x\ud800"), ("notes", "x" * 100_001),
                     ("bad\x00key", "fine")])
    problems = {p.loc: p.msg for p in form_problems(form)}
    assert set(problems) == {"name", "reason", "notes", "form"}, problems
    assert "NUL" in problems["name"] and "surrogate" in problems["reason"] and "100000" in problems["notes"]


@pytest.mark.parametrize("role", ["manager", "trainer"])
def test_ids_outside_the_column_range_are_404_pages_on_every_route(app, world, session, role):
    user = world["users"][role]
    before = snapshot(session)
    for method, path, _route in web_routes(app):
        if "{" not in path:
            continue
        for bad in BAD_IDS:
            url = fill(path, world["real"], bad)
            r = user.get(url) if method == "GET" else user.post(url, {})
            assert r.status_code == 404, (method, url, r.status_code, re.findall(r"<p>(.*?)</p>", r.text))
            assert "Traceback" not in r.text
    assert snapshot(session) == before


@pytest.mark.parametrize("role", ["manager", "trainer"])
def test_query_ids_outside_the_column_range_are_refused(app, world, role):
    user = world["users"][role]
    for bad in BAD_IDS:
        for url in (f"/review?project_id={bad}", f"/review/next?project_id={bad}"):
            r = user.get(url)
            assert r.status_code in (403, 404), (url, r.status_code, r.text[:300])


@pytest.mark.parametrize("role", ["manager", "trainer"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_form_text_is_refused_on_every_form_and_changes_nothing(app, world, session, role, kind):
    user = world["users"][role]
    fields = dict.fromkeys(form_fields(), HOSTILE[kind])
    checked = 0
    for method, path, route in web_routes(app):
        if method != "POST" or not reads_form(route):
            continue
        before = snapshot(session)
        url = fill(path, world["real"])
        r = user.post(url, fields)
        assert r.status_code < 500, (url, r.status_code, r.text[:300])
        if kind != "surrogate":  # a lone surrogate never survives the form decoder: it arrives as U+FFFD
            assert r.status_code in (400, 422), (url, r.status_code, re.findall(r"<p>(.*?)</p>", r.text))
            assert ("NUL" if kind == "nul" else "100000 characters") in r.text, (url, r.text[:500])
        assert snapshot(session) == before, url
        checked += 1
    assert checked >= 12


@pytest.mark.parametrize("role", ["manager", "trainer"])
def test_hostile_query_text_never_500s(app, world, role):
    user = world["users"][role]
    for method, path, route in web_routes(app):
        if method != "GET":
            continue
        url = fill(path, world["real"])
        names = [p.alias for p in route.dependant.query_params]
        for value in (HOSTILE["nul"], HOSTILE["surrogate"], "x" * 5000):  # 100k would not fit in a URL
            query = "&".join(f"{n}={quote_plus(value.encode('utf-8', 'surrogatepass'))}" for n in names)
            r = user.get(url + ("?" + query if query else ""))
            assert r.status_code < 500, (url, r.status_code, r.text[:300])


def test_a_trainer_task_page_and_heartbeat_refuse_big_ids_as_json_too(world):
    user = world["users"]["trainer"]
    r = user.client.post(f"/tasks/{2**63}/heartbeat", headers={"X-CSRF-Token": user.csrf, "X-Requested-With": "fetch"})
    assert r.status_code in (404, 422), r.text
    assert r.json()["detail"]


@pytest.mark.parametrize(("url", "definition"), [
    ("/manage/projects", {"name": "P", "task_type": "label", "guidelines": "a\\u0000b",
                          "options": {"labels": ["a", "b"]}, "terms": "t\\u0000"}),
    ("/manage/exams", {**EXAM, "name": "E\\u0000", "questions": [{"text": "S\\u0000", "gold": "true"}]}),
])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_uploaded_definitions_with_nul_are_refused_and_change_nothing(world, session, url, definition, suffix):
    user = world["users"]["manager"]
    before = snapshot(session)
    body = json.dumps(definition).replace("\\\\u0000", "\\u0000")  # JSON (and YAML) escapes for NUL
    r = user.client.post(url, data={"csrf_token": user.csrf}, files={"definition": ("d" + suffix, body.encode())},
                         headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 422, (r.status_code, r.text[:500])
    assert "NUL" in r.text
    assert snapshot(session) == before
