"""The browser front end: server-rendered pages at ``/``, static files at ``/static``.

``install(app)`` adds the pages to the application (the composition root,
:func:`expertloop.app.create_app`, installs the API beside them). Pages call the same services as the
API, with the same :class:`~expertloop.domain.policies.Actor`; domain errors become pages (or
flash messages) in one place, :func:`_page_error` below.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..deps import get_session
from ..domain.errors import ExpertloopError, Unauthenticated, ValidationFailed
from ..domain.policies import Role
from ..services import auth as auth_svc
from ..services.tokens import authenticate
from . import accounts, chat, consent, exams, integrity, manage, models, oversight, people, project_admin, review, work
from .auth import add_flash, current_actor, end_session, start_session
from .common import STATIC, csrf_guard, finish, form_data, mark_web, redirect, render, safe_next, signin_url

router = APIRouter(include_in_schema=False)


def home_for(actor) -> str:
    if actor is None:
        return "/signin"
    if actor.is_staff:
        return "/manage"
    if actor.role == Role.reviewer:  # a reviewer's work is their review queue
        return "/review"
    return "/work"


@router.get("/")
def home(request: Request, db: Session = Depends(get_session)) -> Response:
    return redirect(request, home_for(current_actor(request, db)))


@router.get("/signin")
def signin_page(request: Request, next: str | None = None, db: Session = Depends(get_session)) -> Response:
    actor = current_actor(request, db)
    if actor is not None:
        return redirect(request, safe_next(next, home_for(actor)))
    return render(request, "signin.html", {"next": safe_next(next, ""), "demo": _demo_hint(request),
                                           "tab": request.query_params.get("tab", "password")})


def _demo_hint(request: Request) -> list[dict] | None:
    """The demo experts' sign-in details, set in app state by ``serve --demo`` (never otherwise)."""
    return getattr(request.app.state, "signin_hints", None)


@router.post("/signin/password")
def signin_password(request: Request, form: FormData = Depends(form_data),
                    db: Session = Depends(get_session)) -> Response:
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""), "")
    try:
        actor, fingerprint = auth_svc.sign_in_with_password(db, email, password)
    except Unauthenticated as exc:
        return render(request, "signin.html", {"error": exc.message, "email": email, "next": target,
                                               "demo": _demo_hint(request), "tab": "password"}, status=401)
    start_session(request, expert_id=actor.expert_id, fingerprint=fingerprint)
    return redirect(request, target or home_for(actor))


@router.post("/signin/token")
def signin_token(request: Request, form: FormData = Depends(form_data),
                 db: Session = Depends(get_session)) -> Response:
    token = str(form.get("token") or "").strip()
    target = safe_next(str(form.get("next") or ""), "")
    try:
        actor = authenticate(db, token)
    except Unauthenticated as exc:
        return render(request, "signin.html", {"error": exc.message, "next": target, "demo": _demo_hint(request),
                                               "tab": "token"}, status=401)
    start_session(request, token_id=actor.token_id)
    return redirect(request, target or home_for(actor))


@router.post("/signout")
def signout(request: Request) -> Response:
    end_session(request)
    add_flash(request, "info", "You are signed out.")
    return redirect(request, "/signin")


def _wants_json(request: Request) -> bool:
    return (request.headers.get("x-requested-with") == "fetch"
            or "application/json" in request.headers.get("accept", "").split(",")[0])


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    """Answer with the handler installed before this app's (an exception handler may be sync)."""
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


async def _page_error(request: Request, exc: ExpertloopError) -> Response:
    """Domain errors on pages: sign-in redirects, friendly error pages, JSON for page scripts."""
    if _wants_json(request):
        body: dict = {"detail": exc.message}
        if isinstance(exc, ValidationFailed):
            body["errors"] = [{"loc": p.loc, "msg": p.msg} for p in exc.problems]
        return finish(request, JSONResponse(body, status_code=exc.status_code))
    if isinstance(exc, Unauthenticated):
        return redirect(request, signin_url(request))
    titles = {403: "Not allowed", 404: "Not found", 409: "That can't be done right now", 422: "Please check"}
    return render(request, "error.html", {"title": titles.get(exc.status_code, "Something went wrong"),
                                          "error": exc, "status": exc.status_code}, status=exc.status_code)


def install(app: FastAPI) -> None:
    """Mount the pages at ``/`` and the static files at ``/static``."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    pages = APIRouter(dependencies=[Depends(mark_web), Depends(csrf_guard)], include_in_schema=False)
    for module in (router, work.router, chat.router, consent.router, exams.router, review.router, manage.router,
                   oversight.router, people.router, integrity.router, accounts.router, project_admin.router,
                   models.router):
        pages.include_router(module)
    app.include_router(pages)

    previous = app.exception_handlers.get(ExpertloopError)

    @app.exception_handler(ExpertloopError)
    async def _domain_error(request: Request, exc: ExpertloopError):
        if getattr(request.state, "web", False):
            return await _page_error(request, exc)
        if previous is not None:
            return await _delegate(previous, request, exc)
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    previous_invalid = app.exception_handlers.get(RequestValidationError, request_validation_exception_handler)
    previous_http = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        if getattr(request.state, "web", False) and not _wants_json(request):
            return render(request, "error.html", {"title": "Not found", "status": 404,
                                                  "message": "There is no page at this address."}, status=404)
        return await _delegate(previous_invalid, request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        path = request.url.path
        api_like = path.startswith(("/api", "/docs", "/redoc", "/openapi", "/health", "/static"))
        if exc.status_code == 404 and not api_like and "text/html" in request.headers.get("accept", ""):
            return render(request, "error.html", {"title": "Not found", "status": 404,
                                                  "message": "There is no page at this address."}, status=404)
        return await _delegate(previous_http, request, exc)


__all__ = ["install"]
