"""Accounts in the console: invitations, sign-up by invitation link, password reset by link,
adding and editing experts, tokens listed and revoked, an expert's access ended."""

from __future__ import annotations

import logging
import smtplib

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, PermissionDenied, ValidationFailed
from ..domain.experts import ExpertStatus
from ..domain.policies import Actor, Role, can_grant, require_staff
from ..services import accounts as accounts_svc
from ..services import experts as experts_svc
from ..services import password_reset as reset_svc
from ..services import tokens as tokens_svc
from ..services.mail import send_mail
from .auth import current_actor, start_session
from .common import PageId, form_data, problems_of, redirect, render, signed_in

router = APIRouter()
log = logging.getLogger(__name__)
PROFILE_FORM = ("name", "email", "degree", "licenses", "domains", "languages", "hourly_rate_usd", "country")


def _profile(form: FormData, fields=PROFILE_FORM) -> dict:
    return {k: str(form.get(k) or "").strip() for k in fields if isinstance(form.get(k, ""), str)}


def _absolute(request: Request, path: str) -> str:
    """A link to ``path`` on this server: from ``EXPERTLOOP_PUBLIC_URL`` when set. Otherwise the
    request's own address, which only signed-in staff reach this with (anyone may send any
    Host header, so links for unauthenticated requests need the setting: see :func:`forgot`)."""
    public = getattr(request.app.state.settings, "public_url", None)
    base = public if public else str(request.base_url)
    return base.rstrip("/") + path


def _mail(request: Request, to: str, subject: str, body: str) -> bool:
    """Send when ``EXPERTLOOP_SMTP_URL`` is set; False (the link is shown instead) otherwise."""
    url = getattr(request.app.state.settings, "smtp_url", None)
    if not url:
        return False
    try:
        send_mail(url, to, subject, body)
    except (OSError, smtplib.SMTPException, ValidationFailed) as exc:  # ValidationFailed: a malformed URL
        log.warning("mail to %s not sent: %s", to, exc)
        return False
    return True


# -- staff: invitations and tokens -----------------------------------------------------------------
def _access_context(db: Session, actor: Actor, **extra) -> dict:
    return {"links": accounts_svc.list_links(db, actor), "tokens": tokens_svc.list_tokens(db, actor),
            "roles": [r.value for r in (Role.trainer, Role.reviewer) if can_grant(actor, r)],
            "form": {}, "nav": "access", **extra}


@router.get("/manage/access")
def access_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "manage access")
    return render(request, "manage/access.html", _access_context(db, actor))


@router.post("/manage/invitations")
def invite(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
           db: Session = Depends(get_session)):
    require_staff(actor, "invite experts")
    data = {**_profile(form), "role": str(form.get("role") or "trainer"),
            "expires_hours": str(form.get("expires_hours") or "")}
    try:
        link = accounts_svc.create_invitation(db, actor, data)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        errors = problems_of(exc, "")
        return render(request, "manage/access.html", _access_context(db, actor, errors=errors, form=data), status=422
                      if isinstance(exc, ValidationFailed) else exc.status_code)
    url = _absolute(request, link["path"])
    sent = _mail(request, link["email"], "You are invited to expertloop",
                 f"Hello {link['name']},\n\nYou are invited to work as a {link['role']} on expertloop.\n"
                 f"Choose your password here (the link works once, until {link['expires_at']}):\n\n{url}\n")
    return render(request, "manage/access.html", _access_context(db, actor, new_link=link, new_url=url, sent=sent))


@router.post("/manage/tokens/{token_id}/revoke")
def revoke_token(token_id: PageId, request: Request, form: FormData = Depends(form_data),
                 actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    back = str(form.get("back") or "")
    if back not in ("", "expert"):
        raise ValidationFailed("must be empty or expert: the page to return to", loc="back")
    token = tokens_svc.revoke_token(db, token_id, actor=actor)
    target = "/manage/access#tokens"
    if back == "expert" and token["expert_id"]:
        target = f"/manage/experts/{token['expert_id']}"
    return redirect(request, target, flash=("success", f"Token #{token_id} ({token['role']}) is revoked; "
                                                       "sessions signed in with it have ended."))


# -- staff: experts added and edited ----------------------------------------------------------------
@router.get("/manage/experts/new")
def new_expert(request: Request, actor: Actor = Depends(signed_in)):
    require_staff(actor, "register experts")
    return render(request, "manage/expert_form.html", {"form": {}, "expert": None, "nav": "experts"})


@router.post("/manage/experts")
def create_expert(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
                  db: Session = Depends(get_session)):
    require_staff(actor, "register experts")
    data = {k: v for k, v in _profile(form).items() if v}
    status = str(form.get("status") or "")
    if status:
        data["status"] = status
    try:
        expert = experts_svc.create_expert(db, actor, data)
    except (ValidationFailed, Conflict) as exc:
        errors = problems_of(exc, "email")
        return render(request, "manage/expert_form.html", {"form": data, "expert": None, "errors": errors,
                                                           "nav": "experts"}, status=422)
    return redirect(request, f"/manage/experts/{expert['id']}",
                    flash=("success", f"{expert['name']} is registered (#{expert['id']})."))


def _expert_context(db: Session, actor: Actor, expert_id: int, **extra) -> dict:
    expert = experts_svc.get_expert(db, actor, expert_id)
    form = {**expert, "domains": ";".join(f"{k}:{v}" for k, v in expert["domains"].items()),
            "languages": ";".join(expert["languages"]), "licenses": ";".join(expert["licenses"]),
            "hourly_rate_usd": expert["hourly_rate_usd"] or "", "country": expert["country"] or ""}
    return {"expert": expert, "form": form, "tokens": accounts_svc.expert_tokens(db, actor, expert_id),
            "statuses": [s.value for s in ExpertStatus], "is_admin": actor.role == Role.admin,
            "nav": "experts", **extra}


@router.get("/manage/experts/{expert_id}")
def expert_page(expert_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    require_staff(actor, "edit experts")
    return render(request, "manage/expert_form.html", _expert_context(db, actor, expert_id))


@router.post("/manage/experts/{expert_id}")
def update_expert(expert_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "edit experts")
    data = _profile(form)
    try:
        expert = accounts_svc.update_expert(db, actor, expert_id, data)
    except (ValidationFailed, Conflict) as exc:
        errors = problems_of(exc, "email")
        ctx = _expert_context(db, actor, expert_id, errors=errors)
        ctx["form"] = {**ctx["form"], **data}
        return render(request, "manage/expert_form.html", ctx, status=422)
    return redirect(request, f"/manage/experts/{expert_id}", flash=("success", f"{expert['name']} is saved."))


@router.post("/manage/experts/{expert_id}/end-access")
def end_access(expert_id: PageId, request: Request, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    done = accounts_svc.end_access(db, actor, expert_id)
    n = done["revoked_tokens"]
    return redirect(request, f"/manage/experts/{expert_id}",
                    flash=("success", f"{n} token{'' if n == 1 else 's'} revoked and every browser session ended."))


@router.post("/manage/experts/{expert_id}/reset-link")
def reset_link(expert_id: PageId, request: Request, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    link = accounts_svc.create_reset(db, actor, expert_id)
    assert link is not None  # staff name an existing expert, or an error was raised
    url = _absolute(request, link["path"])
    sent = _mail(request, link["email"], "Reset your expertloop password",
                 f"Hello {link['name']},\n\nChoose a new password here (the link works once, until "
                 f"{link['expires_at']}):\n\n{url}\n\nIf you did not ask for this, ignore this message.\n")
    return render(request, "manage/expert_form.html",
                  _expert_context(db, actor, expert_id, reset_url=url, reset_sent=sent, reset_link=link))


# -- everyone: sign-up by invitation, reset, forgot --------------------------------------------------
@router.get("/join/{secret}")
def join_page(secret: str, request: Request, db: Session = Depends(get_session)):
    invitation = accounts_svc.invitation(db, secret)
    return render(request, "accounts/join.html", {"invitation": invitation, "secret": secret})


@router.post("/join/{secret}")
def join(secret: str, request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_session)):
    password, again = str(form.get("password") or ""), str(form.get("password_again") or "")
    name = str(form.get("name") or "")
    invitation = accounts_svc.invitation(db, secret)
    try:
        if password != again:
            raise ValidationFailed("the two passwords differ", loc="password_again")
        actor, fingerprint = accounts_svc.accept_invitation(db, secret, name, password)
    except (ValidationFailed, Conflict) as exc:
        return render(request, "accounts/join.html", {"invitation": invitation, "secret": secret,
                                                      "error": exc.message, "name": name}, status=422)
    start_session(request, expert_id=actor.expert_id, fingerprint=fingerprint)
    return redirect(request, "/", flash=("success", "Welcome! Your account is ready."))


@router.get("/reset/{secret}")
def reset_page(secret: str, request: Request, db: Session = Depends(get_session)):
    link = accounts_svc.reset_link(db, secret)
    return render(request, "accounts/reset.html", {"link": link, "secret": secret})


@router.post("/reset/{secret}")
def reset(secret: str, request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_session)):
    password, again = str(form.get("password") or ""), str(form.get("password_again") or "")
    link = accounts_svc.reset_link(db, secret)
    try:
        if password != again:
            raise ValidationFailed("the two passwords differ", loc="password_again")
        actor, fingerprint = accounts_svc.reset_password(db, secret, password)
    except ValidationFailed as exc:
        return render(request, "accounts/reset.html", {"link": link, "secret": secret, "error": exc.message},
                      status=422)
    start_session(request, expert_id=actor.expert_id, fingerprint=fingerprint)
    return redirect(request, "/", flash=("success", "Your password is changed; other sessions have ended."))


@router.get("/forgot")
def forgot_page(request: Request, db: Session = Depends(get_session)):
    settings = request.app.state.settings
    mail = bool(getattr(settings, "smtp_url", None) and getattr(settings, "public_url", None))
    return render(request, "accounts/forgot.html", {"mail": mail, "signed_in": current_actor(request, db)})


@router.post("/forgot")
def forgot(request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_session)):
    email = str(form.get("email") or "").strip()
    note = ("If an account has that address, a link to choose a new password is on its way. "
            "It works once, within a day.")
    settings = request.app.state.settings
    # Mailed only with a configured public address: a link built from this unauthenticated
    # request's Host header could point at any server and hand it the secret.
    if getattr(settings, "smtp_url", None) and getattr(settings, "public_url", None) and email and len(email) <= 320:
        # Limited per email and per client address (in the database: every worker counts);
        # the answer is the same whether an account exists or a limit was reached.
        link = reset_svc.forgot_password(db, email, request.client.host if request.client else "")
        if link is not None:
            _mail(request, link["email"], "Reset your expertloop password",
                  f"Hello {link['name']},\n\nChoose a new password here (the link works once, until "
                  f"{link['expires_at']}):\n\n{_absolute(request, link['path'])}\n\n"
                  "If you did not ask for this, ignore this message.\n")
    else:
        note = "This server sends no mail: ask your programme's administrator for a password-reset link."
    return redirect(request, "/signin", flash=("info", note))


__all__ = ["router"]
