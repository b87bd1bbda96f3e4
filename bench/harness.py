"""What the serving and submit benchmarks share: a throwaway, migrated database.

Imported by ``bench/serving.py`` and ``bench/submit.py`` (run as scripts, so this folder is on
``sys.path``); ``expertloop`` itself comes from the source tree each script puts first on the path
(``EXPERTLOOP_BENCH_SRC`` lets ``submit.py`` time another release's tree).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.migrate import upgrade


class Database:
    """A fresh SQLite file or PostgreSQL database, migrated; dropped on close."""

    def __init__(self, pg_url: str | None, tmp: Path, path: Path | None = None, *, prefix: str = "bench"):
        self.pg = None
        if pg_url is None:  # ``path``: a SQLite file to reuse (kept by the caller)
            self.url = f"sqlite:///{path or tmp / (prefix + '-' + secrets.token_hex(4) + '.sqlite')}"
        else:
            import psycopg

            base = make_url(pg_url)
            self.name = f"expertloop_{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
            self.admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.pg = psycopg
            self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.Session = make_sessionmaker(self.engine)

    @property
    def kind(self) -> str:
        return "postgresql" if self.pg is not None else "sqlite"

    def analyze(self) -> None:
        """Fresh planner statistics, as autovacuum would make after a bulk load."""
        if self.pg is not None:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def close(self) -> None:
        self.engine.dispose()
        if self.pg is not None:
            with self.pg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

