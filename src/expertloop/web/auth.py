"""Browser sessions as signed cookies, and CSRF protection.

Nothing lives in a worker's memory that another worker needs: the session is a cookie signed
with HMAC-SHA256 under a random key kept in the database (``instance_secrets``), so any worker on
any machine can check it. The cookie names a token id or an expert id plus a fingerprint of the
password hash, never a secret, and is re-checked against the database on every request: revoking
a token, offboarding an expert or changing a password ends their sessions everywhere.

Cookies are ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when ``settings.secure_cookies``, and last
at most 12 hours. Every session, signed in or not, carries a random CSRF token; every POST must
echo it in the ``csrf_token`` form field or the ``X-CSRF-Token`` header, and a POST whose
``Origin`` names another site is refused as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy.orm import Session

from ..domain.errors import PermissionDenied, Unauthenticated
from ..domain.policies import Actor
from ..services import auth as auth_svc

SESSION_COOKIE = "el_session"
FLASH_COOKIE = "el_flash"
SESSION_SECONDS = 12 * 3600
FLASH_SECONDS = 120
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """``payload.mac`` with the purpose mixed into the MAC, so a flash can't pose as a session.

    Written on the standard library's ``hmac`` rather than itsdangerous: it is a dozen lines,
    the key comes from the database rather than configuration, and it saves a dependency."""

    def __init__(self, key: bytes):
        self.key = key

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}.{payload}".encode(), hashlib.sha256).digest())

    def dumps(self, purpose: str, data: dict) -> str:
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(purpose, payload)}"

    def loads(self, purpose: str, value: str | None, max_age: int) -> dict | None:
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(data, dict) or time.time() - float(data.get("iat", 0)) > max_age:
            return None
        return data


@dataclass
class WebSession:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    iat: float = field(default_factory=time.time)
    kind: str | None = None           # "token" | "password" | None (signed out)
    token_id: int | None = None
    expert_id: int | None = None
    fp: str | None = None             # password fingerprint (kind == "password")
    dirty: bool = False               # must be (re)sent as a cookie

    def to_cookie(self) -> dict:
        data = asdict(self)
        data.pop("dirty")
        return {k: v for k, v in data.items() if v is not None}


def _signer(request: Request) -> Signer:
    signer = getattr(request.app.state, "web_signer", None)
    if signer is None:
        with request.app.state.sessionmaker() as db:
            signer = Signer(auth_svc.instance_secret(db))
        request.app.state.web_signer = signer  # a copy of what the database holds; any worker may make it
    return signer


def web_session(request: Request) -> WebSession:
    """This request's session (a fresh signed-out one when the cookie is missing or bad)."""
    ws = getattr(request.state, "web_session", None)
    if ws is None:
        data = _signer(request).loads("session", request.cookies.get(SESSION_COOKIE), SESSION_SECONDS)
        if data is None:
            ws = WebSession(dirty=True)
        else:
            ws = WebSession(csrf=str(data.get("csrf")), iat=float(data["iat"]), kind=data.get("kind"),
                            token_id=data.get("token_id"), expert_id=data.get("expert_id"), fp=data.get("fp"))
        request.state.web_session = ws
    return ws


def start_session(request: Request, *, token_id: int | None = None, expert_id: int | None = None,
                  fingerprint: str | None = None) -> WebSession:
    """A new session (new CSRF token: no fixation) for a signed-in user."""
    kind = "token" if token_id is not None else "password"
    ws = WebSession(kind=kind, token_id=token_id, expert_id=expert_id, fp=fingerprint, dirty=True)
    request.state.web_session = ws
    request.state.actor = None
    return ws


def end_session(request: Request) -> None:
    request.state.web_session = WebSession(dirty=True)
    request.state.actor = None


def current_actor(request: Request, db: Session) -> Actor | None:
    """The signed-in actor, re-checked against the database; None when signed out."""
    if hasattr(request.state, "actor") and request.state.actor is not None:
        return request.state.actor
    ws = web_session(request)
    actor = None
    try:
        if ws.kind == "token" and ws.token_id is not None:
            actor = auth_svc.actor_for_token_id(db, int(ws.token_id))
        elif ws.kind == "password" and ws.expert_id is not None:
            actor = auth_svc.actor_for_expert(db, int(ws.expert_id), ws.fp or "", ws.iat)
    except Unauthenticated:
        end_session(request)
        add_flash(request, "info", "Your session has ended. Please sign in again.")
        actor = None
    request.state.actor = actor
    return actor


def require_actor(request: Request, db: Session) -> Actor:
    actor = current_actor(request, db)
    if actor is None:
        raise Unauthenticated("please sign in")
    return actor


def _same_origin(request: Request, url: str) -> bool:
    parts = urlsplit(url)
    host = request.headers.get("host", "")
    return parts.netloc == host


async def check_csrf(request: Request) -> None:
    """Refuse a POST that does not carry this session's CSRF token (or comes from another site)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(request, origin):
        raise PermissionDenied("this form was sent from another site and was refused (CSRF check)")
    if origin == "null":
        raise PermissionDenied("this form was sent from an opaque origin and was refused (CSRF check)")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = web_session(request).csrf
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDenied("the form's security token is missing or stale (CSRF check). "
                               "Reload the page and try again.")


# -- flash messages: a short-lived signed cookie, read once ----------------------------------------
def add_flash(request: Request, level: str, message: str) -> None:
    pending = getattr(request.state, "flash_out", None)
    if pending is None:
        pending = request.state.flash_out = []
    pending.append([level, message])


def take_flashes(request: Request) -> list[tuple[str, str]]:
    """Messages left by the previous response (consumed) plus any added during this request."""
    if getattr(request.state, "flash_taken", None) is None:
        data = _signer(request).loads("flash", request.cookies.get(FLASH_COOKIE), FLASH_SECONDS)
        request.state.flash_taken = [tuple(m) for m in (data or {}).get("m", [])][:10]
    taken = list(request.state.flash_taken)
    taken += [tuple(m) for m in getattr(request.state, "flash_out", None) or []]
    request.state.flash_out = []
    request.state.flash_consumed = True
    return taken


def apply_cookies(request: Request, response: Response) -> Response:
    """Write the session and flash cookies this request changed onto ``response``."""
    secure = bool(getattr(request.app.state.settings, "secure_cookies", False))
    signer = _signer(request)
    ws = getattr(request.state, "web_session", None)
    if ws is not None and ws.dirty:
        response.set_cookie(SESSION_COOKIE, signer.dumps("session", ws.to_cookie()), max_age=SESSION_SECONDS,
                            httponly=True, samesite="lax", secure=secure, path="/")
    pending = getattr(request.state, "flash_out", None) or []
    if pending:
        response.set_cookie(FLASH_COOKIE, signer.dumps("flash", {"m": pending[:10], "iat": time.time()}),
                            max_age=FLASH_SECONDS, httponly=True, samesite="lax", secure=secure, path="/")
    elif getattr(request.state, "flash_consumed", False) and FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
    return response
