"""What every page shares: templates and their filters, dependencies, render and redirect."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.assignments import AssignmentState
from ..domain.checks import MAX_ID
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, Role
from ..domain.tasks import TASK_TYPES
from ..services import auth as auth_svc
from ..services import oversight as oversight_svc
from . import charts
from .auth import add_flash, apply_cookies, check_csrf, require_actor, take_flashes, web_session
from .forms import form_problems
from .render import markdown

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                                "form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

TASK_LABELS = {str(t): spec.title for t, spec in TASK_TYPES.items()}
TASK_SHORTCUTS = {str(t): list(spec.shortcuts) for t, spec in TASK_TYPES.items()}
STATE_LABELS = {AssignmentState.leased: "In progress", AssignmentState.submitted: "Awaiting review",
                AssignmentState.accepted: "Accepted", AssignmentState.rejected: "Rejected",
                AssignmentState.released: "Skipped", AssignmentState.expired: "Expired",
                AssignmentState.retested: "Re-test (not counted)"}  # staff only: trainers see "submitted"

# Ids in page addresses, as the database stores them (PostgreSQL ``integer``). Any other number
# fails validation, which pages show as "not found" (see views.install): never a query, never a 500.
PageId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
OptionalPageId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _parse_time(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def when(value) -> str:
    """A compact UTC time: ``21 Nov 14:05``."""
    dt = _parse_time(value)
    if dt is None:
        return "—"
    return dt.astimezone(UTC).strftime("%d %b %H:%M")


def duration(seconds) -> str:
    s = round(float(seconds or 0))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{sec}s"


def usd(value) -> str:
    if value is None:
        return "—"
    return f"${float(value):,.2f}"


def cents(value) -> str:
    return "—" if value is None else f"${value / 100:,.2f}"


def percent(value) -> str:
    return "—" if value is None else f"{100 * float(value):.0f}%"


def _make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters.update(md=markdown, md_doc=lambda t: markdown(t, document=True), when=when,
                       duration=duration, usd=usd, cents=cents, percent=percent)
    env.globals.update(TASK_LABELS=TASK_LABELS, TASK_SHORTCUTS=TASK_SHORTCUTS, STATE_LABELS=STATE_LABELS,
                       charts=charts, Role=Role, AssignmentState=AssignmentState)
    return templates


templates = _make_templates()


# -- dependencies ---------------------------------------------------------------------------------
def mark_web(request: Request) -> None:
    """Marks the request as a page request, so errors become pages (see views.install)."""
    request.state.web = True


async def csrf_guard(request: Request) -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await check_csrf(request)


async def form_data(request: Request) -> FormData:
    """The posted form, every text field checked (:func:`.forms.form_problems`): a field that
    no database can store is refused here, naming it, before any form parser or service sees it."""
    form = await request.form()
    problems = form_problems(form)
    if problems:
        raise ValidationFailed(problems)
    return form


def signed_in(request: Request, db: Session = Depends(get_session)) -> Actor:
    actor = require_actor(request, db)
    if getattr(request.state, "user_name", None) is None:
        request.state.user_name = auth_svc.display_name(db, actor)
        if actor.is_staff:  # the count beside "Notifications" in the staff navigation
            request.state.notification_count = oversight_svc.notification_count(db, actor)
    return actor


def is_reviewer(actor: Actor | None) -> bool:
    return actor is not None and actor.role in (Role.reviewer, Role.manager, Role.admin)


# -- responses ------------------------------------------------------------------------------------
def finish(request: Request, response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return apply_cookies(request, response)


def render(request: Request, name: str, context: dict | None = None, *, status: int = 200) -> Response:
    actor = getattr(request.state, "actor", None)
    ctx = {
        "actor": actor,
        "user_name": getattr(request.state, "user_name", None),
        "csrf_token": web_session(request).csrf,
        "flashes": take_flashes(request),
        "is_reviewer": is_reviewer(actor),
        "is_staff": actor is not None and actor.is_staff,
        "path": request.url.path,
        "notification_count": getattr(request.state, "notification_count", None),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    return finish(request, response)


def redirect(request: Request, url: str, *, flash: tuple[str, str] | None = None) -> Response:
    if flash:
        add_flash(request, *flash)
    return finish(request, RedirectResponse(url, status_code=303))


def safe_next(url: str | None, default: str = "/") -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


def signin_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        return "/signin"
    return f"/signin?next={quote(target, safe='')}"
