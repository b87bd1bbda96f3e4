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
        _SQLITE_WRITERS[engine] = (threading.RLock(), busy_timeout_ms / 1000)
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
# queue on this lock instead and each takes the write lock the moment the previous writer
# commits; only writers of other processes still meet SQLite's polling.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, tuple[threading.RLock, float]] = weakref.WeakKeyDictionary()


def sqlite_writer_lock(engine: Engine) -> tuple[threading.RLock, float] | None:
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
