"""Large projects' progress comes from the runner's copy (with live leases read now); small
projects are counted on every read. The threshold is lowered here so that a few items count as
large; bench/pages.py measures the pages at a million items."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expertloop.config import Settings
from expertloop.jobs import JobRunner
from expertloop.services import assignments as svc
from expertloop.services import items as items_svc
from expertloop.services import jobs, progress, uow
from expertloop.services.clock import utcnow
from expertloop.services.projects import get_project, list_projects
from expertloop.storage.orm import Item
from tests import factories as f


@pytest.fixture()
def large_at_five(monkeypatch):
    monkeypatch.setattr(progress, "LARGE_ITEMS", 5)


def _progress(session, project_id):
    return get_project(session, f.ADMIN, project_id)["progress"]


def test_a_large_project_reads_the_copy_and_its_live_leases(session, large_at_five):
    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 6)
    small = f.project(session, "label", overlap=1)
    f.items(session, small["id"], "label", 3)
    exact = _progress(session, big["id"])
    assert "as_of" not in exact                                     # no copy yet: counted now

    assert progress.refresh_large(session, discover=True) == 1      # only the large one
    copied = _progress(session, big["id"])
    assert copied["as_of"] is not None and {**copied, "as_of": None} == {**exact, "as_of": None}
    assert "as_of" not in _progress(session, small["id"])

    trainer = f.trainer_actor(f.expert(session))
    lease = svc.lease_next(session, trainer, big["id"])
    leased = _progress(session, big["id"])
    assert leased["items_in_progress"] == 1 and leased["live_leases"] == 1   # leases: read live
    svc.submit(session, trainer, lease["assignment_id"], {"label": "yes"}, Settings())
    stale = _progress(session, big["id"])
    assert stale["items_complete"] == 0 and stale["live_leases"] == 0       # the copy: until recounted
    assert progress.refresh_large(session, discover=False) == 0             # counted a moment ago
    assert progress.refresh_large(session, discover=False, now=utcnow() + timedelta(seconds=20)) == 1
    assert _progress(session, big["id"])["items_complete"] == 1
    listed = {p["id"]: p["progress"] for p in list_projects(session, f.ADMIN)}
    assert listed[big["id"]]["as_of"] is not None and "as_of" not in listed[small["id"]]


def test_a_project_that_shrinks_below_the_threshold_is_counted_again(session, large_at_five):
    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 5)
    progress.refresh_large(session, discover=True)
    assert "as_of" in _progress(session, big["id"])
    with uow.read(session):
        first = session.execute(select(Item.id).where(Item.project_id == big["id"])).scalars().first()
    items_svc.retire_item(session, f.ADMIN, first, reason="duplicate")
    progress.refresh_large(session, discover=True)
    now = _progress(session, big["id"])
    assert "as_of" not in now and now["items"] == 4


def test_the_runner_recounts_and_a_failed_recount_does_not_stop_jobs(session, session_factory, large_at_five,
                                                                      monkeypatch):
    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 5)
    assert JobRunner(session_factory).run_until_idle() >= 0
    assert "as_of" in _progress(session, big["id"])

    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(progress, "refresh_large", broken)
    ran = []
    runner = JobRunner(session_factory, handlers={"noop": lambda s, job, p: ran.append(job["id"]) or {}})
    job_id = uow.run_write(session, lambda: jobs.enqueue(session, "noop", project_id=big["id"]))
    assert runner.run_until_idle() == 1 and ran == [job_id]


def test_the_project_page_says_how_old_a_large_projects_counts_are(app, session, large_at_five):
    from fastapi.testclient import TestClient

    from tests.web.helpers import PageClient

    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 5)
    with TestClient(app) as raw:
        page = PageClient(raw, f.token(session, "manager"), "/manage")
        url = f"/manage/projects/{big['id']}"
        assert "data-progress-as-of" not in page.get(url).text            # counted now
        progress.refresh_large(session, discover=True)
        r = page.get(url)
        assert r.status_code == 200 and "data-progress-as-of" in r.text and "items in progress are live" in r.text


def test_the_review_queue_counts_a_large_project_from_the_copy_less_the_reviewers_own(session, large_at_five):
    from expertloop.domain.policies import Actor, Role
    from expertloop.services import reviews

    big = f.project(session, "label", overlap=2)
    f.items(session, big["id"], "label", 5)
    small = f.project(session, "label", overlap=1)
    f.items(session, small["id"], "label", 2)
    ann, bo = f.expert(session), f.expert(session)
    for who, project, n in ((ann, big, 2), (bo, big, 3), (bo, small, 1)):
        for _ in range(n):
            lease = svc.lease_next(session, f.trainer_actor(who), project["id"])
            svc.submit(session, f.trainer_actor(who), lease["assignment_id"], {"label": "yes"}, Settings())
    live = {r["project_id"]: r for r in reviews.queue_counts(session, f.ADMIN)}
    progress.refresh_large(session, discover=True)
    staff = {r["project_id"]: r for r in reviews.queue_counts(session, f.ADMIN)}
    assert staff[big["id"]]["pending"] == live[big["id"]]["pending"] == 5 and staff[big["id"]]["as_of"]
    assert staff[small["id"]] == live[small["id"]] and "as_of" not in staff[small["id"]]
    ann_reviews = {r["project_id"]: r["pending"]
                   for r in reviews.queue_counts(session, Actor(role=Role.reviewer, expert_id=ann["id"]))}
    assert ann_reviews == {big["id"]: 3, small["id"]: 1}                     # her own two are not hers to review
    assert len(reviews.review_queue(session, f.ADMIN, big["id"], limit=50)) == 5   # the list itself is live


def test_an_old_copy_is_not_served_and_new_work_still_lists_a_project(session, large_at_five):
    """Copies are current or not used: one older than MAX_AGE_SECONDS (no runner, failing
    recounts) gives way to a live count; and a copy that says nothing waits for review does not
    hide work submitted since."""
    from expertloop.services import reviews

    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 5)
    progress.refresh_large(session, discover=True, now=utcnow() - timedelta(seconds=progress.MAX_AGE_SECONDS + 5))
    assert "as_of" not in _progress(session, big["id"])                       # too old: counted now
    progress.refresh_large(session, discover=False)
    assert "as_of" in _progress(session, big["id"])
    ann = f.expert(session)
    lease = svc.lease_next(session, f.trainer_actor(ann), big["id"])
    svc.submit(session, f.trainer_actor(ann), lease["assignment_id"], {"label": "yes"}, Settings())
    [row] = [r for r in reviews.queue_counts(session, f.ADMIN) if r["project_id"] == big["id"]]
    assert row["pending"] == 1 and row["as_of"]                               # the copy said 0


def test_review_next_does_not_count_this_projects_stale_row_as_other_projects(app, session, large_at_five):
    from fastapi.testclient import TestClient

    from expertloop.services import reviews
    from tests.web.helpers import PageClient

    big = f.project(session, "label", overlap=1)
    f.items(session, big["id"], "label", 5)
    ann = f.expert(session)
    lease = svc.lease_next(session, f.trainer_actor(ann), big["id"])
    svc.submit(session, f.trainer_actor(ann), lease["assignment_id"], {"label": "yes"}, Settings())
    progress.refresh_large(session, discover=True)                           # the copy: 1 waiting
    reviews.review(session, f.ADMIN, lease["assignment_id"], "accept")        # now none
    with TestClient(app) as raw:
        page = PageClient(raw, f.token(session, "manager"), "/manage")
        r = page.get(f"/review/next?project_id={big['id']}")
        assert r.status_code == 303
        shown = page.get(r.headers["location"]).text
        assert "wait in other projects" not in shown
