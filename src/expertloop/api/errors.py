"""The one place domain errors become HTTP responses: ``{"detail": ...}`` with the right 4xx."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..domain.errors import ExpertloopError, Unauthenticated, ValidationFailed


def install(app: FastAPI) -> None:
    @app.exception_handler(ExpertloopError)
    async def _domain_error(request: Request, exc: ExpertloopError) -> JSONResponse:
        body: dict = {"detail": exc.message}
        if isinstance(exc, ValidationFailed):
            body["errors"] = [{"loc": p.loc, "msg": p.msg} for p in exc.problems]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
