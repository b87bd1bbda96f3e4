"""Migrations upgrade a database that already holds data, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from expertloop.storage.db import make_engine
from expertloop.storage.migrate import alembic_config, current_revision, upgrade


def test_upgrade_from_the_first_schema_keeps_data_and_fills_new_columns(backend, tmp_path):
    from tests.conftest import PgDatabase, pg_base_url

    db = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        import pytest
        if pg_base_url() is None:
            pytest.skip("PostgreSQL tests need EXPERTLOOP_TEST_DATABASE_URL (CI sets it)")
        db = PgDatabase(pg_base_url())
        url = db.url
    engine = make_engine(url)
    try:
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO experts (name, email, degree, licenses, domains, languages, "
                              "hourly_rate_cents, status, created_at) VALUES ('A', 'a@x.org', 3, '[]', '{}', '[]', "
                              "12000, 'active', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO projects (name, task_type, guidelines, guidelines_version, options, "
                              "requirements, overlap, lease_minutes, max_minutes_per_task, pseudonym_salt, created_at) "
                              "VALUES ('P', 'label', '', 1, '{}', '{}', 3, 30, 20, 'salt', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO items (project_id, priority, payload, done_count, created_at) "
                              "VALUES (1, 0, '{\"text\": \"x\"}', 0, CURRENT_TIMESTAMP)"))
        upgrade(engine)
        from alembic.script import ScriptDirectory
        assert current_revision(engine) == ScriptDirectory.from_config(cfg).get_current_head()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT target_overlap FROM items")).scalar_one() == 3
            verified = conn.execute(text("SELECT verified_domains FROM experts")).scalar_one()
            assert verified in ({}, "{}")
        upgrade(engine)  # idempotent
    finally:
        engine.dispose()
        if db is not None:
            db.drop()
