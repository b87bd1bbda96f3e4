"""Every earlier schema, with data in it, upgrades to the newest one and keeps its data.

For each revision from the first to the head: an empty database is migrated to that revision,
one representative row goes into every table it has (raw SQL, values chosen per column from its
type and name, so a table or column a later revision adds is covered as soon as it exists),
then the database is upgraded to head. Every row must still be there with the values written,
and the ORM of today must read each of them (new columns filled by their migrations).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from expertloop.storage import orm
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.migrate import alembic_config, upgrade

URL_PLACEHOLDER = "sqlite://"
WHEN = datetime(2024, 5, 1, 12, 0, 0)
# project_spend is derived: triggers on ledger_entries keep it equal to the ledger's sum, so a
# row written into it by hand would be counted twice; it is checked against the ledger instead.
# So is ledger_days (the ledger per expert, day and kind).
SKIP_TABLES = {"alembic_version", "project_spend", "ledger_days"}
# Values for columns whose meaning matters to the rows that read them.
NAMED = {
    "email": "ada@example.org", "status": "active", "task_type": "label", "role": "admin", "state": "submitted",
    "kind": "earning", "name": "Ada", "token_hash": "h" * 64, "pseudonym_salt": "salt", "minutes": "1.50",
    "domain": "history", "value": "secret", "guidelines": "Be careful.", "terms": "Terms v1", "message": "note",
    "reason": "low gold accuracy", "external_id": "ext-1",
}
JSON_VALUES = {
    "payload": {"text": "hello"}, "response": {"label": "a"}, "options": {"labels": ["a", "b"]},
    "licenses": [], "languages": ["en"], "domains": {"history": 4}, "verified_domains": {},
    "answers": {"0": "a"}, "gold": {"label": "a"},
}


def _revisions(cfg) -> list[str]:
    script = ScriptDirectory.from_config(cfg)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _value(table: sa.Table, column: sa.Column, dialect: str):
    if column.name in JSON_VALUES or isinstance(column.type, sa.JSON) or "JSON" in type(column.type).__name__.upper():
        return json.dumps(JSON_VALUES.get(column.name, {}))
    if column.foreign_keys:
        return 1
    if column.name in NAMED and isinstance(column.type, sa.String):
        return NAMED[column.name]
    t = column.type
    if isinstance(t, sa.Boolean):
        return True
    if isinstance(t, sa.DateTime):
        return WHEN
    if isinstance(t, sa.Date):
        return WHEN.date()
    if isinstance(t, sa.Float | sa.Numeric):
        return 1.5
    if isinstance(t, sa.Integer):
        return 1
    if isinstance(t, sa.LargeBinary):
        return b"\x00"
    if isinstance(t, sa.String | sa.Text):
        return f"{table.name}.{column.name}"[: t.length or 200]
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({t!r})")


def _fill(conn, dialect: str) -> dict[str, dict]:
    """One row in every table of the current schema; the values written, per table."""
    meta = sa.MetaData()
    meta.reflect(bind=conn)
    written: dict[str, dict] = {}
    for table in meta.sorted_tables:
        if table.name in SKIP_TABLES:
            continue
        values = {c.name: _value(table, c, dialect) for c in table.columns
                  if not (c.primary_key and isinstance(c.type, sa.Integer) and not c.foreign_keys
                          and len(table.primary_key.columns) == 1)}  # an autoincrement id, not part of a key
        names = ", ".join(conn.dialect.identifier_preparer.quote(k) for k in values)  # e.g. "order"
        marks = ", ".join(
            (f"CAST(:{k} AS JSONB)" if dialect == "postgresql" and "JSON" in type(table.c[k].type).__name__.upper()
             else f":{k}") for k in values)
        conn.execute(text(f"INSERT INTO {table.name} ({names}) VALUES ({marks})"), values)
        written[table.name] = values
    return written


def _database(backend, tmp_path, rev):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'at-{rev}.db'}", None
    from tests.conftest import PgDatabase, pg_base_url

    if pg_base_url() is None:
        pytest.skip("PostgreSQL tests need EXPERTLOOP_TEST_DATABASE_URL (CI sets it)")
    db = PgDatabase(pg_base_url())
    return db.url, db


def test_every_revision_with_data_upgrades_to_head(backend, tmp_path):
    revisions = _revisions(alembic_config(URL_PLACEHOLDER))
    assert revisions[0].startswith("0001") and len(revisions) >= 8
    for rev in revisions[:-1]:
        url, db = _database(backend, tmp_path, rev)
        engine = make_engine(url)
        try:
            cfg = alembic_config(url)
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, rev)
            with engine.begin() as conn:
                written = _fill(conn, engine.dialect.name)
            upgrade(engine)
            with engine.connect() as conn:
                for table, values in written.items():
                    rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
                    assert len(rows) == 1, (rev, table)
                    for column, value in values.items():
                        got = rows[0][column]
                        if isinstance(value, str) and column in JSON_VALUES:
                            got = got if isinstance(got, (dict, list)) else json.loads(got)
                            value = json.loads(value)
                        elif isinstance(value, datetime) and isinstance(got, str):
                            got = datetime.fromisoformat(got)
                        elif isinstance(value, date) and isinstance(got, str):
                            got = date.fromisoformat(got)
                        elif isinstance(value, str) and isinstance(got, (dict, list)):
                            value = json.loads(value)
                        elif isinstance(value, bytes):
                            got = bytes(got)
                        assert got == value, (rev, table, column, got, value)
            with engine.connect() as conn:  # the derived spend agrees with the ledger it sums
                ledger = conn.execute(text("SELECT coalesce(sum(amount_cents), 0) FROM ledger_entries")).scalar_one()
                spend = conn.execute(text("SELECT coalesce(sum(spent_cents), 0) FROM project_spend")).scalar_one()
                assert spend == ledger, (rev, spend, ledger)
                entries, days = (conn.execute(text(f"SELECT coalesce(sum({n}), 0), coalesce(sum({c}), 0) FROM {t}"))
                                 .one() for t, n, c in (("ledger_entries", "1", "amount_cents"),
                                                        ("ledger_days", "entries", "amount_cents")))
                assert tuple(days) == tuple(entries), (rev, days, entries)
            # today's ORM reads every row the old schema held
            with make_sessionmaker(engine)() as session, session.begin():
                for model in (orm.Expert, orm.Project, orm.Item, orm.Assignment, orm.LedgerEntry, orm.ApiToken):
                    if model.__tablename__ in written:
                        [row] = session.execute(sa.select(model)).scalars().all()
                        assert row.id == 1
                item = session.get(orm.Item, 1)
                assert item is not None and item.payload == {"text": "hello"} and item.target_overlap >= 1
                expert = session.get(orm.Expert, 1)
                assert expert is not None and expert.email == "ada@example.org"
                assert expert.created_at == WHEN.replace(tzinfo=UTC)
        finally:
            engine.dispose()
            if db is not None:
                db.drop()
