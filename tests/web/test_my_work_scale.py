"""A trainer's "My work" beyond the first 500 assignments: every figure counts all of their work
(aggregated by the database), and the task list is paged. Filled fast through the ORM."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from expertloop.domain.assignments import AssignmentState
from expertloop.domain.errors import PermissionDenied
from expertloop.domain.policies import Actor, Role
from expertloop.services import uow
from expertloop.services.clock import utcnow
from expertloop.services.work_summary import PER_PAGE, my_work, work_summary
from expertloop.storage.orm import Assignment, Item, LedgerEntry
from tests.factories import expert, project, token
from tests.web.helpers import PageClient

N = 640
CYCLE = [AssignmentState.submitted, AssignmentState.accepted, AssignmentState.accepted,
         AssignmentState.rejected, AssignmentState.released]


def fill(session, project_id: int, expert_id: int, other_expert: int) -> dict:
    """N assignments of one expert in one project (states cycling), one earning per handed-in
    task, a live and a lapsed lease, and some work of another expert that must not count."""
    now = utcnow()
    expected = dict.fromkeys(AssignmentState, 0)
    cents = 0
    minutes = Decimal(0)
    with uow.write(session):
        item_rows = [Item(project_id=project_id, external_id=f"x{i}", payload={"text": f"Text {i}"})
                     for i in range(N + 2)]
        session.add_all(item_rows)
        session.flush()
        assignments = []
        for i, item in enumerate(item_rows[:N]):
            state = CYCLE[i % len(CYCLE)]
            expected[state] += 1
            assignments.append(Assignment(
                project_id=project_id, item_id=item.id, expert_id=expert_id, state=state.value,
                leased_at=now, lease_expires_at=now, last_seen_at=now,
                submitted_at=None if state == AssignmentState.released else now,
                review_feedback=f"feedback {i}" if state == AssignmentState.rejected else None))
        live = Assignment(project_id=project_id, item_id=item_rows[N].id, expert_id=expert_id, state="leased",
                          leased_at=now, lease_expires_at=now + timedelta(hours=1), last_seen_at=now)
        lapsed = Assignment(project_id=project_id, item_id=item_rows[N + 1].id, expert_id=expert_id, state="leased",
                            leased_at=now, lease_expires_at=now - timedelta(minutes=1), last_seen_at=now)
        others = [Assignment(project_id=project_id, item_id=item_rows[i].id, expert_id=other_expert,
                             state="accepted", leased_at=now, lease_expires_at=now, last_seen_at=now)
                  for i in range(5)]
        session.add_all([*assignments, live, lapsed, *others])
        session.flush()
        expected[AssignmentState.leased] += 1
        expected[AssignmentState.expired] += 1
        entries = []
        for i, a in enumerate(assignments):
            if a.state == "released":
                continue
            m = Decimal(f"{i % 7}.{i % 100:02d}")
            entries.append(LedgerEntry(expert_id=expert_id, project_id=project_id, assignment_id=a.id,
                                       kind="earning", minutes=str(m), rate_cents=6000, amount_cents=100 + i,
                                       created_at=now - timedelta(days=i % 20)))
            cents += 100 + i
            minutes += m
        entries.append(LedgerEntry(expert_id=expert_id, project_id=None, kind="bonus", minutes="0",
                                   amount_cents=2500, created_at=now))
        entries.append(LedgerEntry(expert_id=other_expert, project_id=project_id, kind="earning", minutes="9.99",
                                   amount_cents=99999, created_at=now))
        session.add_all(entries)
        cents += 2500
    paid = sum(1 for e in entries if e.kind == "earning" and e.expert_id == expert_id)
    return {"counts": expected, "cents": cents, "minutes": minutes, "paid": paid, "live": live.id,
            "newest_handed_in": max(a.id for a in assignments if a.state != "released"),
            "handed_in": [a.id for a in assignments if a.state != "released"]}


@pytest.fixture()
def big(session):
    p = project(session, "label")
    e, other = expert(session), expert(session)
    return {"project": p, "expert": e, **fill(session, p["id"], e["id"], other["id"])}


def test_summary_counts_every_assignment_and_every_cent(session, big):
    actor = Actor(role=Role.trainer, expert_id=big["expert"]["id"])
    s = work_summary(session, actor)
    assert sum(s.counts.values()) == N + 2 > 500
    assert s.counts == big["counts"]
    assert s.handed_in == len(big["handed_in"]) and s.done_by_project == {big["project"]["id"]: s.handed_in}
    assert s.held == {big["project"]["id"]: big["live"]}
    assert Decimal(s.total_usd) == Decimal(big["cents"]) / 100
    assert Decimal(s.minutes) == big["minutes"] and s.tasks_paid == big["paid"]
    by_project = {p.project_id: p for p in s.by_project}
    assert by_project[None].amount_usd == "25.00" and by_project[None].tasks == 0
    assert by_project[big["project"]["id"]].tasks == big["paid"]
    assert sum(Decimal(w.amount_usd) for w in s.by_week) == Decimal(big["cents"]) / 100  # all within 12 weeks
    accepted, rejected = big["counts"][AssignmentState.accepted], big["counts"][AssignmentState.rejected]
    assert s.acceptance == accepted / (accepted + rejected)


def test_only_the_expert_and_staff_read_a_summary(session, big):
    stranger = expert(session)
    with pytest.raises(PermissionDenied):
        work_summary(session, Actor(role=Role.trainer, expert_id=stranger["id"]), big["expert"]["id"])
    staff = work_summary(session, Actor(role=Role.manager), big["expert"]["id"])
    assert staff.counts == big["counts"]


def test_the_list_is_paged_newest_first_over_all_handed_in_work(session, big):
    actor = Actor(role=Role.trainer, expert_id=big["expert"]["id"])
    handed_in = sorted(big["handed_in"], reverse=True)
    first = my_work(session, actor)
    assert first.total == len(handed_in) and first.pages == -(-len(handed_in) // PER_PAGE)
    assert [r.assignment_id for r in first.rows] == handed_in[:PER_PAGE]
    last = my_work(session, actor, page=first.pages)
    assert [r.assignment_id for r in last.rows] == handed_in[(first.pages - 1) * PER_PAGE:]
    assert my_work(session, actor, page=10**6).page == first.pages  # past the end: the last page
    rejected = my_work(session, actor, state=AssignmentState.rejected, per_page=1000)
    assert rejected.total == len(rejected.rows) == big["counts"][AssignmentState.rejected]
    assert all(r.state == AssignmentState.rejected and r.review_feedback for r in rejected.rows)
    assert rejected.rows[0].preview.startswith("Text ")
    assert [r.assignment_id for r in my_work(session, actor, state=AssignmentState.leased).rows] == [big["live"]]
    assert len(my_work(session, actor, state=AssignmentState.expired).rows) == 1


def test_my_work_and_projects_pages_show_figures_beyond_500(app, session, big):
    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "trainer", big["expert"]["id"]), "/work")
        r = page.get("/my-work")
        assert r.status_code == 200, r.text[:500]
        handed_in = len(big["handed_in"])
        assert re.search(rf"All submitted <span class=\"count\">{handed_in}</span>", r.text)
        assert f"${Decimal(big['cents']) / 100:,.2f}".replace(",", "") in r.text.replace(",", "")
        assert f"page 1 of {-(-handed_in // PER_PAGE)}" in r.text
        assert f'href="/my-work/{big["newest_handed_in"]}"' in r.text
        older = page.get("/my-work?state=rejected&page=2")
        assert older.status_code == 200 and "page 2 of" in older.text
        assert page.get("/my-work?state=nonsense").status_code == 404
        work = page.get("/work")
        assert f"{handed_in} done by you" in work.text and f'href="/tasks/{big["live"]}"' in work.text
