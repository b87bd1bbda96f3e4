"""No double-booking under real concurrency: 50+ trainers in threads, each with its own
connection, against a real database (SQLite file in WAL mode, and PostgreSQL)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from sqlalchemy import func, select

from expertloop.config import Settings
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Assignment, Item
from tests import factories as f

N_TRAINERS = 50


def _setup(url: str, *, n_items: int, overlap: int) -> tuple[object, int, list[int]]:
    engine = make_engine(url, pool_size=N_TRAINERS + 5)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=overlap, lease_minutes=30)
        f.items(s, p["id"], "label", n_items)
        experts = [f.expert(s)["id"] for _ in range(N_TRAINERS)]
    return engine, p["id"], experts


def _run_threads(target, experts):
    barrier = threading.Barrier(len(experts))
    errors: list[BaseException] = []

    def wrapped(expert_id):
        try:
            barrier.wait()
            target(expert_id)
        except BaseException as exc:  # surfaced below with the test's own assertion
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(e,)) for e in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a trainer thread hung"
    assert not errors, f"{len(errors)} trainer threads failed, first: {errors[0]!r}"


def test_fifty_trainers_leasing_at_once_never_exceed_overlap(fresh_url):
    """Every trainer claims at the same instant; the slots handed out equal the slots available."""
    engine, project_id, experts = _setup(fresh_url, n_items=10, overlap=2)
    Session = make_sessionmaker(engine)
    got: dict[int, int | None] = {}

    def claim(expert_id):
        with Session() as s:
            lease = svc.lease_next(s, Actor(Role.trainer, expert_id), project_id)
            got[expert_id] = f.staff_item(s, lease)["id"] if lease else None

    _run_threads(claim, experts)
    per_item = Counter(i for i in got.values() if i is not None)
    assert sum(per_item.values()) == 20, per_item  # 10 items × overlap 2, all handed out
    assert max(per_item.values()) == 2
    assert list(got.values()).count(None) == N_TRAINERS - 20
    engine.dispose()


def test_fifty_trainers_working_concurrently_fill_every_slot_exactly(fresh_url):
    """Trainers lease and submit in a loop until nothing is left: every item ends with exactly
    `overlap` judgments from distinct experts, and nobody is paid twice."""
    engine, project_id, experts = _setup(fresh_url, n_items=60, overlap=3)
    Session = make_sessionmaker(engine)
    settings = Settings()

    def work(expert_id):
        rng = random.Random(expert_id)
        actor = Actor(Role.trainer, expert_id)
        with Session() as s:
            while (lease := svc.lease_next(s, actor, project_id)) is not None:
                time.sleep(rng.random() * 0.002)
                if rng.random() < 0.1:
                    svc.release(s, actor, lease["assignment_id"])
                    continue
                svc.submit(s, actor, lease["assignment_id"], {"label": rng.choice(["yes", "no"])}, settings,
                           idempotency_key=f"{lease['assignment_id']}")

    _run_threads(work, experts)
    with Session() as s, uow.read(s):
        rows = s.execute(select(Assignment.item_id, Assignment.expert_id)
                         .where(Assignment.state == "submitted")).all()
        per_item = Counter(item for item, _ in rows)
        assert len(per_item) == 60 and set(per_item.values()) == {3}, per_item
        assert len(set(rows)) == len(rows), "an expert judged the same item twice"
        done = dict(s.execute(select(Item.id, Item.done_count)).all())
        assert set(done.values()) == {3}
        live = s.execute(select(func.count()).select_from(Assignment).where(Assignment.state == "leased")).scalar()
        assert live == 0
    engine.dispose()


def test_a_stale_candidate_is_rechecked_under_the_lock(session, backend, monkeypatch):
    """PostgreSQL path: a candidate chosen from a snapshot taken before another claimer committed
    is re-counted under its row lock and passed over when full."""
    if backend != "postgresql":
        import pytest
        pytest.skip("SQLite claims hold the database write lock and need no re-check")
    from expertloop.storage import repositories as repo

    p = f.project(session, "label", overlap=1)
    f.items(session, p["id"], "label", 2)
    first, second = (f.trainer_actor(f.expert(session)) for _ in range(2))
    taken = f.staff_item(session, svc.lease_next(session, first, p["id"]))["id"]
    real = repo.next_candidate_item
    calls = []

    def stale_then_real(sess, project_id, expert_id, now, **kw):
        calls.append(kw.get("exclude"))
        return taken if len(calls) == 1 else real(sess, project_id, expert_id, now, **kw)

    monkeypatch.setattr(repo, "next_candidate_item", stale_then_real)
    lease = svc.lease_next(session, second, p["id"])
    assert f.staff_item(session, lease)["id"] != taken
    assert calls[1] == [taken]


def test_closing_a_pay_period_waits_for_the_submits_in_flight(fresh_url):
    """A submit writes its assignment, then reads the period its earning is booked in. A close
    at that moment must wait until the submit commits (else the earning would land in a period
    already closed); new submits wait for the close, and then see it."""
    from expertloop.services import payroll

    engine, Session, period, in_flight, tx = _period_and_a_submit_in_flight(fresh_url, 2)
    closed: list[float] = []

    def close():
        with Session() as s:
            payroll.close_period(s, f.ADMIN, period["id"])
        closed.append(time.monotonic())

    closer = threading.Thread(target=close)
    closer.start()
    time.sleep(1.0)
    assert not closed, "the close went ahead while a submit was writing"
    committed = time.monotonic()
    tx.commit()
    in_flight.close()
    closer.join(timeout=30)
    assert closed and closed[0] >= committed
    engine.dispose()


def test_a_close_held_up_by_a_long_writer_gives_up_instead_of_stalling_everyone(fresh_url, monkeypatch):
    """On PostgreSQL the close's lock queues every new lease behind it, so it waits a bounded
    time and then says to try again, closing nothing; SQLite's writers queue anyway, and the
    close waits its turn (busy_timeout)."""
    from sqlalchemy import select

    from expertloop.domain.errors import Conflict
    from expertloop.services import payroll
    from expertloop.storage.orm import PayPeriod

    monkeypatch.setattr(payroll, "CLOSE_LOCK_TIMEOUT_MS", 300)
    engine, Session, period, writer, tx = _period_and_a_submit_in_flight(fresh_url, 1)
    outcome: list[object] = []

    def close():
        try:
            with Session() as s:
                outcome.append(payroll.close_period(s, f.ADMIN, period["id"]))
        except Conflict as exc:
            outcome.append(exc)

    closer = threading.Thread(target=close)
    closer.start()
    time.sleep(1.5)
    tx.commit()
    writer.close()
    closer.join(timeout=30)
    with Session() as s, uow.read(s):
        closed_at = s.execute(select(PayPeriod.closed_at).where(PayPeriod.id == period["id"])).scalar_one()
    if engine.dialect.name == "postgresql":
        assert isinstance(outcome[0], Conflict) and "try again" in str(outcome[0]) and closed_at is None
    else:
        assert isinstance(outcome[0], dict) and outcome[0]["closed"] and closed_at is not None
    engine.dispose()


def _period_and_a_submit_in_flight(url: str, n_items: int):
    """A pay period covering today and a connection holding a submit's first write (its
    assignment) in an open transaction: (engine, Session, period, connection, transaction)."""
    from datetime import date

    from sqlalchemy import update

    from expertloop.services import payroll

    engine, project_id, experts = _setup(url, n_items=n_items, overlap=1)
    Session = make_sessionmaker(engine)
    today = date.today().isoformat()
    with Session() as s:
        lease = svc.lease_next(s, Actor(Role.trainer, experts[0]), project_id)
        period = payroll.create_period(s, f.ADMIN, "now", today, today)
    writer = engine.connect()
    tx = writer.begin()
    writer.execute(update(Assignment).where(Assignment.id == lease["assignment_id"])
                   .values(active_seconds=Assignment.active_seconds))
    return engine, Session, period, writer, tx
