"""Listing projects costs a constant number of SQL statements, however many projects there are
(progress is counted per project in grouped queries), and the counts stay right."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as assignments_svc
from expertloop.services import oversight, uow
from expertloop.services.dashboards import projects_overview
from expertloop.services.projects import get_project, list_projects
from expertloop.storage.orm import ProjectPause
from tests.factories import ADMIN, expert, items, project

STAFF = Actor(role=Role.manager)


@contextmanager
def statements(connection):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def make_projects(session, n: int) -> list[dict]:
    out = []
    for i in range(n):
        p = project(session, "label", name=f"P{i}")
        items(session, p["id"], "label", 2)
        out.append(p)
    return out


@pytest.mark.parametrize("who", ["staff", "trainer"])
def test_listing_projects_does_not_grow_with_their_number(session, connection, who):
    e = expert(session)
    actor = STAFF if who == "staff" else Actor(role=Role.trainer, expert_id=e["id"])
    make_projects(session, 2)
    with statements(connection) as few:
        assert len(list_projects(session, actor)) == 2
    make_projects(session, 18)
    with statements(connection) as many:
        assert len(list_projects(session, actor)) == 20
    assert len(many) == len(few) <= 11, many  # one reads the progress copies of large projects
    if who == "staff":
        with statements(connection) as overview:
            assert len(projects_overview(session, STAFF)) == 20
        assert len(overview) <= 11, overview


def test_batched_progress_matches_one_project_at_a_time(session, settings):
    e = expert(session)
    trainer = Actor(role=Role.trainer, expert_id=e["id"])
    a, b, empty = make_projects(session, 3)
    done = assignments_svc.lease_next(session, trainer, a["id"])
    assignments_svc.submit(session, trainer, done["assignment_id"], {"label": "yes"}, settings)
    assignments_svc.lease_next(session, trainer, a["id"])
    assignments_svc.lease_next(session, trainer, b["id"])
    listed = {p["id"]: p["progress"] for p in list_projects(session, STAFF)}
    for p in (a, b, empty):
        assert listed[p["id"]] == get_project(session, STAFF, p["id"])["progress"]
    assert listed[a["id"]]["judgments"] == 1 and listed[a["id"]]["live_leases"] == 1
    assert listed[a["id"]]["assignments_by_state"]["submitted"] == 1 and listed[a["id"]]["items_complete"] == 1
    assert listed[b["id"]]["items_in_progress"] == 1 and listed[empty["id"]]["judgments_needed"] == 2


def test_a_paused_trainer_does_not_see_the_project(session):
    e = expert(session)
    trainer = Actor(role=Role.trainer, expert_id=e["id"])
    a, b = make_projects(session, 2)
    with uow.write(session):  # as the quality floor records a pause
        session.add(ProjectPause(project_id=a["id"], expert_id=e["id"], reason="below the gold floor"))
    assert [p["id"] for p in list_projects(session, trainer)] == [b["id"]]
    oversight.lift_pause(session, ADMIN, a["id"], e["id"])
    assert [p["id"] for p in list_projects(session, trainer)] == [a["id"], b["id"]]
