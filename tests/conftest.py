"""Shared fixtures: a real, migrated database per backend, and a rolled-back transaction per test.

Every database test runs on SQLite, and on PostgreSQL when ``EXPERTLOOP_TEST_DATABASE_URL`` is
set (CI sets it). PostgreSQL tests create their own database, so runs never see each other.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from expertloop.config import Settings
from expertloop.storage.db import make_engine
from expertloop.storage.migrate import upgrade

PG_ENV = "EXPERTLOOP_TEST_DATABASE_URL"


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


class PgDatabase:
    """A throwaway PostgreSQL database made next to the one in EXPERTLOOP_TEST_DATABASE_URL."""

    def __init__(self, base_url: str):
        import psycopg

        self._psycopg = psycopg
        self.base = make_url(base_url)
        self.name = f"expertloop_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = self.base.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self):
        plain = self.base.set(drivername="postgresql").render_as_string(hide_password=False)
        return self._psycopg.connect(plain, autocommit=True)

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def fresh_database_url(backend: str, tmp_path) -> Iterator[str]:
    """A new, migrated, empty database of ``backend``; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / ('db-' + secrets.token_hex(4) + '.sqlite')}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    base = pg_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    db = PgDatabase(base)
    try:
        engine = make_engine(db.url)
        upgrade(engine)
        engine.dispose()
        yield db.url
    finally:
        db.drop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory) -> Iterator[str]:
    yield from fresh_database_url(backend, tmp_path_factory.mktemp(backend))


@pytest.fixture(scope="session")
def engine(database_url):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def connection(engine):
    """One connection whose outer transaction is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture()
def session_factory(connection):
    # Units of work commit; inside the test they release a savepoint and the outer rollback wins.
    # Like production sessions, these never begin by themselves: a query outside a unit fails.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                        autobegin=False)


@pytest.fixture()
def session(session_factory):
    s = session_factory()
    yield s
    s.close()


@pytest.fixture()
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture()
def app(settings, session_factory):
    from expertloop.app import create_app

    return create_app(settings, session_factory=session_factory)


@pytest.fixture()
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture()
def fresh_url(backend, tmp_path) -> Iterator[str]:
    """A database of its own for tests that need real commits (concurrency, CLI)."""
    yield from fresh_database_url(backend, tmp_path)


# --- models ----------------------------------------------------------------------------------
# A real HTTP server speaking the chat-completions protocol (tests/model_server.py, a TEST
# server with fixed rules). With EXPERTLOOP_TEST_MODEL_URL (+ EXPERTLOOP_TEST_MODEL, and
# EXPERTLOOP_TEST_MODEL_KEY_ENV naming the variable with its key) the `model_target` tests run
# against that real endpoint too.
MODEL_URL_ENV, MODEL_NAME_ENV, MODEL_KEY_ENV = ("EXPERTLOOP_TEST_MODEL_URL", "EXPERTLOOP_TEST_MODEL",
                                                "EXPERTLOOP_TEST_MODEL_KEY_ENV")


@pytest.fixture(scope="session")
def model_server():
    from tests.model_server import ModelServer

    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture()
def fresh_model_server(model_server):
    """The test model server, its request log cleared."""
    model_server.reset()
    return model_server


@pytest.fixture(params=["test-server", "real-endpoint"])
def model_target(request, model_server) -> dict:
    """Where protocol tests send requests: the test server, and a real endpoint when configured."""
    if request.param == "test-server":
        model_server.reset()
        return {"base_url": model_server.base_url, "model": "test-model", "api_key_env": None, "real": False}
    url = os.environ.get(MODEL_URL_ENV)
    if not url:
        pytest.skip(f"set {MODEL_URL_ENV} and {MODEL_NAME_ENV} to run this against a real endpoint")
    return {"base_url": url, "model": os.environ.get(MODEL_NAME_ENV, "default"),
            "api_key_env": os.environ.get(MODEL_KEY_ENV) or None, "real": True}
