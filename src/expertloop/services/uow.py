"""The unit of work: the one place a transaction begins, commits and rolls back.

Rules (see docs/architecture.md, "Transactions"):

* Services (and the job runner) open units; ``api/``, ``web/``, ``cli/`` and ``storage/``
  never commit or roll back.
* Sessions do not autobegin (:func:`expertloop.storage.db.make_sessionmaker`): a query outside a
  unit raises at once instead of silently opening a transaction that nobody ends.
* ``with write(session):`` begins a write transaction (``BEGIN IMMEDIATE`` on SQLite, so the
  write lock is held from the first read), commits when the block ends, rolls back when it
  raises. ``with read(session):`` begins a read transaction and ends it; a read unit that tries
  to write raises.
* Units nest by joining: a read or write inside a write joins it; a read inside a read joins it;
  a write inside a read is a programming error and raises (on SQLite it could not take the
  write lock without risking a deadlock).
* :func:`writes` wraps a whole use case: when PostgreSQL aborts it to break a deadlock or a
  serialization conflict (SQLSTATE 40P01 / 40001) it is rolled back and run again from the
  start, up to :data:`RETRIES` times. Only the outermost unit retries: an inner one re-raises,
  so the whole unit reruns, never half of it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..storage.db import WRITE_OPTION, WriterQueue, sqlite_writer_lock

P = ParamSpec("P")
T = TypeVar("T")

UNIT_KEY = "expertloop_unit"
RETRYABLE = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
RETRIES = 4
BACKOFF_SECONDS = 0.01


class UnitOfWorkError(RuntimeError):
    """A programming error in how units are used (a write inside a read, a read that writes)."""


class CommitThenRaise(Exception):
    """Raised inside a write unit by a use case that must keep what it recorded and still
    refuse: the unit commits, then raises ``error`` (e.g. a lapsed lease whose slot was taken
    is marked expired, and the submit is refused with ``LeaseExpired``)."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def kind(session: Session) -> str | None:
    """``"read"``, ``"write"`` or None: the unit the session is in."""
    return session.info.get(UNIT_KEY)


@contextmanager
def read(session: Session) -> Iterator[Session]:
    """A read transaction (joins any unit already open)."""
    if kind(session) is not None:
        yield session
        return
    _refuse_foreign_transaction(session)
    session.begin()
    session.info[UNIT_KEY] = "read"
    try:
        yield session
    finally:
        session.info.pop(UNIT_KEY, None)
        # Ending a read writes nothing; commit (not rollback) so objects read stay loaded
        # (expire_on_commit=False) for the caller to render.
        if session.in_transaction():
            session.commit()


@contextmanager
def write(session: Session) -> Iterator[Session]:
    """A write transaction: IMMEDIATE on SQLite, committed at the end, rolled back on error."""
    current = kind(session)
    if current == "write":
        yield session
        return
    if current == "read":
        raise UnitOfWorkError("a write unit was opened inside a read unit; open it on its own")
    _refuse_foreign_transaction(session)
    queue = _writer_queue(session)
    try:
        session.begin()
        session.info[UNIT_KEY] = "write"
        try:
            session.connection(execution_options={WRITE_OPTION: True})
            yield session
            session.flush()
        except CommitThenRaise as signal:
            session.info.pop(UNIT_KEY, None)
            session.commit()
            raise signal.error from None
        except BaseException:
            session.info.pop(UNIT_KEY, None)
            session.rollback()
            raise
        session.info.pop(UNIT_KEY, None)
        session.commit()
    finally:
        if queue is not None:
            queue.release()


def _writer_queue(session: Session) -> WriterQueue | None:
    """On SQLite, wait for this process's writer queue (see :mod:`expertloop.storage.db`) and
    return it held; None elsewhere, or when the wait outlasts the busy timeout (SQLite's own
    wait then decides, as it would without the queue)."""
    bind = session.get_bind()
    found = sqlite_writer_lock(bind) if isinstance(bind, Engine) else None
    if found is None:
        return None
    lock, timeout = found
    return lock if lock.acquire(timeout=timeout) else None


def _refuse_foreign_transaction(session: Session) -> None:
    if session.in_transaction():
        raise UnitOfWorkError("the session is already in a transaction not opened by a unit of work")


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE


def run_write(session: Session, fn: Callable[[], T], *, retries: int = RETRIES) -> T:
    """Run ``fn`` in a write unit; rerun the whole unit when PostgreSQL aborts it to break a
    deadlock or a serialization conflict (it changed nothing). Inside an open write unit ``fn``
    simply joins it (the outermost unit owns the retry)."""
    if kind(session) == "write":
        return fn()
    for attempt in range(retries + 1):
        try:
            with write(session):
                return fn()
        except DBAPIError as exc:
            if attempt == retries or not is_retryable(exc):
                raise
            time.sleep(BACKOFF_SECONDS * (2 ** attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def writes(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: the function (whose first argument is the session) is one write use case."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        session = cast(Session, args[0] if args else kwargs["session"])
        return run_write(session, lambda: fn(*args, **kwargs))

    return wrapper


def reads(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: the function (whose first argument is the session) is one read use case."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        session = cast(Session, args[0] if args else kwargs["session"])
        with read(session):
            return fn(*args, **kwargs)

    return wrapper


def reads_stream(fn: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """Decorator for a generator over the session: a read unit open while it is consumed."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        session = cast(Session, args[0] if args else kwargs["session"])
        with read(session):
            yield from fn(*args, **kwargs)

    return wrapper


@event.listens_for(Session, "before_flush")
def _no_writes_in_read_units(session: Session, _flush_context: Any, _instances: Any) -> None:
    if kind(session) == "read" and (session.new or session.dirty or session.deleted):
        raise UnitOfWorkError("a read unit tried to write; use a write unit for this use case")
