"""The ORM and the migrations describe the same schema: a database migrated to the newest
revision has exactly the tables, columns, types, indexes and constraints the ORM declares.
A column added to ``storage/orm.py`` without a migration (or the reverse) fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from expertloop.storage.db import make_engine
from expertloop.storage.orm import Base


def test_a_migrated_database_matches_the_orm(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], f"the ORM and the migrations differ: {differences}"
