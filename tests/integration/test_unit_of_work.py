"""The unit of work: nothing runs outside a unit, a failing unit leaves nothing, units nest by
joining, and a write aborted by a deadlock is run again from the start."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError, OperationalError

from expertloop.domain.errors import Conflict
from expertloop.services import uow
from expertloop.storage.orm import Expert
from tests import factories as f


def _experts(session) -> int:
    with uow.read(session):
        return session.execute(select(func.count()).select_from(Expert)).scalar_one()


def test_a_query_outside_a_unit_fails_loudly(session):
    with pytest.raises(InvalidRequestError, match="Autobegin is disabled"):
        session.execute(select(func.count()).select_from(Expert))


def test_a_failing_unit_leaves_nothing(session):
    before = _experts(session)

    def half_done():
        session.add(Expert(name="Half", email="half@example.org", degree=3, hourly_rate_cents=100))
        session.flush()
        raise Conflict("changed my mind")

    with pytest.raises(Conflict):
        uow.run_write(session, half_done)
    assert _experts(session) == before
    assert not session.in_transaction() and uow.kind(session) is None


def test_commit_then_raise_keeps_what_was_recorded(session):
    before = _experts(session)

    def record_and_refuse():
        session.add(Expert(name="Kept", email="kept@example.org", degree=3, hourly_rate_cents=100))
        raise uow.CommitThenRaise(Conflict("recorded, and refused"))

    with pytest.raises(Conflict, match="recorded, and refused"):
        uow.run_write(session, record_and_refuse)
    assert _experts(session) == before + 1


def test_units_nest_by_joining_and_a_write_inside_a_read_is_refused(session):
    with uow.write(session):
        with uow.read(session):  # joins the write
            assert uow.kind(session) == "write"
        f.expert(session)  # a write service joins too: one commit at the end
    with uow.read(session), pytest.raises(uow.UnitOfWorkError, match="inside a read unit"), uow.write(session):
        pass


def test_a_read_unit_that_writes_is_refused(session):
    with pytest.raises(uow.UnitOfWorkError, match="read unit tried to write"), uow.read(session):
        session.add(Expert(name="Sneaky", email="sneaky@example.org", degree=3, hourly_rate_cents=100))
        session.flush()


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_write_aborted_by_a_deadlock_runs_again_from_the_start(session):
    attempts = []

    def flaky():
        attempts.append(1)
        session.add(Expert(name=f"Try {len(attempts)}", email=f"try{len(attempts)}@example.org", degree=3,
                           hourly_rate_cents=100))
        session.flush()
        if len(attempts) < 3:
            raise OperationalError("INSERT ...", {}, _Deadlock("deadlock detected"))
        return "done"

    before = _experts(session)
    assert uow.run_write(session, flaky) == "done"
    assert len(attempts) == 3 and _experts(session) == before + 1  # the aborted tries left nothing


def test_other_database_errors_are_not_retried(session):
    attempts = []

    def broken():
        attempts.append(1)
        raise OperationalError("SELECT ...", {}, Exception("disk I/O error"))

    with pytest.raises(OperationalError):
        uow.run_write(session, broken)
    assert len(attempts) == 1


def test_sqlite_writers_of_one_process_queue_and_a_failed_unit_frees_the_queue(tmp_path):
    """Threads of one process take turns at the write lock (a failing unit gives its turn back):
    all commit, and what the failed units wrote is gone."""
    import threading
    import time

    from expertloop.storage.db import make_engine, make_sessionmaker, sqlite_writer_lock
    from expertloop.storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", busy_timeout_ms=10_000)
    upgrade(engine)
    Session = make_sessionmaker(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        with Session() as s:
            try:
                with uow.write(s):
                    s.add(Expert(name=f"W{n}", email=f"w{n}@example.org", degree=3, hourly_rate_cents=100))
                    s.flush()
                    time.sleep(0.01)
                    if n % 2:
                        raise Conflict("refused")
            except Conflict:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    queue = sqlite_writer_lock(engine)
    assert queue is not None and queue[0].acquire(timeout=0)  # nobody holds it any more
    queue[0].release()
    with Session() as s:
        assert _experts(s) == 4
        with uow.write(s), uow.write(s):  # a nested unit joins; the queue is re-entrant
            f.expert(s)
    engine.dispose()


def test_the_sqlite_writer_queue_serves_waiters_in_arrival_order():
    """A released lock goes to the longest waiter, not to whoever asks next (a plain lock lets
    the releasing thread take it straight back, and waiters starve until their timeout)."""
    import threading
    import time

    from expertloop.storage.db import WriterQueue

    queue = WriterQueue()
    assert queue.acquire(timeout=1) and queue.acquire(timeout=1)  # re-entrant
    order: list[str] = []

    def waiter(name: str) -> None:
        assert queue.acquire(timeout=10)
        order.append(name)
        queue.release()

    threads = []
    for name in ("first", "second", "third"):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        while queue.waiting() < len(threads):
            time.sleep(0.001)
    queue.release()
    queue.release()
    assert queue.acquire(timeout=10)  # the holder asks again at once: it queues behind them
    order.append("holder again")
    queue.release()
    for t in threads:
        t.join()
    assert order == ["first", "second", "third", "holder again"]
    assert queue.acquire(timeout=0)  # free again
    queue.release()
