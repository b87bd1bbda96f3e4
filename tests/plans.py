"""The query plan of the statement a call runs, for tests that pin which index a query uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event


def query_plan(session, engine, call: Callable[[], Any], *, generic: bool = False) -> tuple[Any, str]:
    """What ``call()`` returns, and the plan of the last statement it ran (``EXPLAIN`` on
    PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite). ``generic`` (PostgreSQL): the plan a
    prepared statement reuses, made without the parameters' values."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):
        captured.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, params = captured[-1]
    prefix = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    connection = session.connection()
    if generic:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        return result, "\n".join(str(row) for row in connection.exec_driver_sql(prefix + statement, params))
    finally:
        if generic:
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
