"""The JSON API: ``install(app)`` adds its routes and error handlers to an application.

The application itself is built by the composition root, :func:`expertloop.app.create_app`,
which installs this API and the browser pages side by side.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import errors
from .routes import (
    ai_help,
    assignments,
    audit,
    chat,
    consent,
    experiments,
    experts,
    export_jobs,
    exports,
    forecast,
    health,
    integrity,
    invitations,
    jobs,
    judgments,
    lifecycle,
    models,
    pay,
    projects,
    quality,
    review_tasks,
    reviews,
    standing,
    tokens,
    vetting,
)


def install(app: FastAPI) -> None:
    errors.install(app)
    app.include_router(health.router)
    for module in (experts, projects, assignments, review_tasks, reviews, vetting, consent, quality, exports,
                   export_jobs, judgments, tokens, jobs, audit, models, chat, ai_help, health, experiments,
                   integrity, lifecycle):
        app.include_router(module.router, prefix="/api/v1")
    for module in (pay, standing, invitations):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(forecast.router, prefix="/api/v1")
