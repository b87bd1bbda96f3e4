"""The composition root: builds the application from settings. Nothing is created at import.

``create_app(settings)`` opens the database, installs the JSON API (``api``) and the browser
pages (``web``) side by side (neither imports the other; both use :mod:`expertloop.deps`),
passes configuration such as the demo's sign-in hints through app state, and, when
``settings.jobs_in_process`` is on, runs a job runner in a background thread for the life of
the app. An import error anywhere fails here, loudly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.orm import Session, sessionmaker

from . import __version__
from .api.app import install as install_api
from .config import Settings
from .storage.db import make_engine, make_sessionmaker
from .web.views import install as install_web


def create_app(settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None,
               run_jobs: bool | None = None) -> FastAPI:
    """The application. ``run_jobs`` overrides ``settings.jobs_in_process`` (tests pass their
    own ``session_factory`` and run jobs explicitly)."""
    settings = settings or Settings()
    if session_factory is None:
        session_factory = make_sessionmaker(make_engine(settings.database_url,
                                                        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                                                        pool_size=settings.db_pool_size))
    run_jobs = settings.jobs_in_process if run_jobs is None else run_jobs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = None
        if run_jobs:
            from .jobs import JobRunner

            runner = JobRunner(session_factory)
            runner.start()
        app.state.job_runner = runner
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()

    # /docs and /redoc serve Swagger UI and ReDoc from the package's own files, never a CDN: the
    # interactive docs work on a machine without internet access.
    app = FastAPIOffline(title="expertloop", version=__version__, lifespan=lifespan,
                         description="Expert human-data programmes for LLM training: experts, projects, "
                                     "leased tasks, pay and TRL-ready exports.")
    app.state.settings = settings
    app.state.sessionmaker = session_factory
    app.state.signin_hints = _signin_hints() if settings.demo else None
    install_api(app)
    install_web(app)
    return app


def _signin_hints() -> list[dict]:
    from .demo import signin_hints

    return signin_hints()


def app_from_env() -> FastAPI:
    """Entry for ``uvicorn --factory`` and worker processes: settings from the environment."""
    return create_app(Settings())
