"""The one place errors become HTTP responses.

Every 4xx body has one shape, :class:`~.schemas.ErrorBody`: ``{"detail": str}`` with the right
status, plus ``"errors": [{"loc", "msg"}]`` for a 422 — whether the domain refused the input
(:class:`ValidationFailed`) or the request did not fit the route's schema (FastAPI's
``RequestValidationError``, whose list-shaped detail is rewritten here).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.errors import ExpertloopError, Problem, Unauthenticated, ValidationFailed


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "response", 0)`` → ``response[0]``; ``("query", "limit")`` → ``limit``;
    ``("path", "project_id")`` → ``project_id``; a whole body stays ``body``."""
    parts = list(parts)
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _msg(error: dict) -> str:
    msg = str(error.get("msg", "is invalid"))
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx") or {}
        return f"is not valid JSON ({ctx.get('error', 'decode error')})"
    return msg


def problems_of(exc: RequestValidationError) -> list[Problem]:
    return [Problem(_loc(e.get("loc", ())), _msg(e)) for e in exc.errors()]


def _body(exc: ValidationFailed) -> dict:
    return {"detail": exc.message, "errors": [{"loc": p.loc, "msg": p.msg} for p in exc.problems]}


def install(app: FastAPI) -> None:
    @app.exception_handler(ExpertloopError)
    async def _domain_error(request: Request, exc: ExpertloopError) -> JSONResponse:
        body: dict = _body(exc) if isinstance(exc, ValidationFailed) else {"detail": exc.message}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_body(ValidationFailed(problems_of(exc))), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
