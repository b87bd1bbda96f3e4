"""Engine and session factories, with the care SQLite needs to serve many writers.

SQLite: WAL (readers never block the writer), ``busy_timeout`` (writers queue instead of
failing), foreign keys on, and our own ``BEGIN`` so that a unit of work that claims something
can start with ``BEGIN IMMEDIATE`` and hold the write lock from its first read (the unit of
work, :mod:`expertloop.services.uow`, asks for it with ``WRITE_OPTION``). PostgreSQL:
plain READ COMMITTED; claims use ``SELECT ... FOR UPDATE SKIP LOCKED`` (see repositories).
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "expertloop_write"


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; nothing is created at import time so tests pass their own."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        size = pool_size if pool_size is not None else SQLITE_POOL_SIZE
        pool: dict[str, Any] = {}
        if parsed.database not in (None, "", ":memory:"):  # a file: a queue of connections
            pool = {"pool_size": size, "max_overflow": size}
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": busy_timeout_ms / 1000}, **pool)
        _configure_sqlite(engine, busy_timeout_ms)
        _SQLITE_WRITERS[engine] = (WriterQueue(), busy_timeout_ms / 1000)
        return engine
    kwargs: dict[str, Any] = dict(POSTGRESQL_POOL)
    if pool_size is not None:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    return create_engine(url, **kwargs)


# PostgreSQL connection pool. Every unit of work checks a connection out and back in, so:
# - pre-ping (one ``SELECT 1`` per checkout) lets a server restart or failover cost no request;
# - LIFO hands out the connection used last, so a quiet process works on few connections and
#   the others sit idle until recycled;
# - recycling after 30 minutes outlives idle timeouts of servers and proxies in between.
# Size: SQLAlchemy's default, 5 kept plus 10 more under load per process, unless ``pool_size``
# (the ``db_pool_size`` setting) says otherwise: then that many kept plus as many more.
POSTGRESQL_POOL = {"pool_pre_ping": True, "pool_use_lifo": True, "pool_recycle": 1800}
# SQLite connections cost a file handle: keep as many as the server runs request threads (40:
# 20 kept plus 20 more), so a request never waits for a connection, only for the write lock.
SQLITE_POOL_SIZE = 20

# One writer at a time per SQLite database, queued in the process. SQLite's own wait for the
# write lock (``busy_timeout``) polls: a waiting writer sleeps up to 100 ms between tries and
# may find the lock taken again each time, so under many concurrent writers the lock sits idle
# while they sleep and the unlucky ones time out ("database is locked"). Threads of one process
# queue here instead, first come first served, and each takes the write lock the moment the
# previous writer commits; only writers of other processes still meet SQLite's polling.
class WriterQueue:
    """A re-entrant lock handed to its waiters in arrival order.

    A plain lock is not fair: the thread that releases it usually takes it again (it holds the
    interpreter while the woken waiter does not), so under load some waiters starve until their
    timeout. Here release hands the lock straight to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Event]] = deque()

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock; whether it is now held."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return True
            turn = (me, threading.Event())
            self._waiters.append(turn)
        if turn[1].wait(timeout):
            return True
        with self._mutex:
            if turn[1].is_set():  # handed over just as the wait ran out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("the writer queue is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth:
                return
            if self._waiters:
                owner, turn = self._waiters.popleft()
                self._owner, self._depth = owner, 1
                turn.set()
            else:
                self._owner = None

    def waiting(self) -> int:
        with self._mutex:
            return len(self._waiters)


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, tuple[WriterQueue, float]] = weakref.WeakKeyDictionary()


def sqlite_writer_lock(engine: Engine) -> tuple[WriterQueue, float] | None:
    """The in-process writer queue of a SQLite engine and how long to wait in it (None otherwise)."""
    return _SQLITE_WRITERS.get(engine)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never begin a transaction by themselves: every query runs inside a unit of
    work (:mod:`expertloop.services.uow`), which begins, commits and rolls back."""
    return sessionmaker(engine, expire_on_commit=False, autobegin=False)


def is_sqlite(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"
