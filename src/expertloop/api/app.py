"""Application factory. Nothing is created at import time: ``create_app(settings)``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from .. import __version__
from ..config import Settings
from ..storage.db import make_engine, make_sessionmaker
from . import errors
from .routes import assignments, consent, experts, exports, health, projects, quality, reviews, tokens, vetting


def create_app(settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or Settings()
    if session_factory is None:
        session_factory = make_sessionmaker(make_engine(settings.database_url,
                                                        busy_timeout_ms=settings.sqlite_busy_timeout_ms))
    app = FastAPI(title="expertloop", version=__version__,
                  description="Expert human-data programmes for LLM training: experts, projects, "
                              "leased tasks, pay and TRL-ready exports.")
    app.state.settings = settings
    app.state.sessionmaker = session_factory
    errors.install(app)
    app.include_router(health.router)
    for module in (experts, projects, assignments, reviews, vetting, consent, quality, exports, tokens, health):
        app.include_router(module.router, prefix="/api/v1")
    try:
        from ..web.views import install as install_web
    except ImportError:  # the browser front end is optional to the API
        install_web = None
    if install_web is not None:
        install_web(app)
    return app


def app_from_env() -> FastAPI:
    """Entry for ``uvicorn --factory`` and worker processes: settings from the environment."""
    return create_app(Settings())
