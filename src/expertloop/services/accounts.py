"""Accounts in the console: invitations by link, sign-up, password reset by link, editing an
expert, and ending an expert's access (tokens and browser sessions).

Links are single use and expire. Like tokens, only a SHA-256 hash of the secret in a link is
stored (``account_links``); the secret is returned once, to be shown to the staff member who
made it or mailed (``services.mail``). Using a link marks it used in the same transaction, under
a conditional UPDATE, so two tabs cannot both use it.

- An **invitation** carries the role (trainer or reviewer), the expert profile the manager
  filled in (name, degree, domains, languages, rate, country) and an expiry. Accepting it
  creates the expert with a password; a reviewer invitation also grants the reviewer role
  (a reviewer token whose secret nobody sees, revocable like any token).
- A **password reset** link (admins, for an expert) lets the expert choose a new password;
  changing it ends their other browser sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.experts import ExpertStatus, parse_expert
from ..domain.money import to_cents
from ..domain.policies import Actor, Role, can_grant, require_admin, require_staff
from ..storage.orm import AccountLink, ApiToken, Expert
from . import audit
from .auth import _hasher, check_password_strength, expert_role, password_fingerprint
from .clock import utcnow
from .tokens import PREFIX, hash_token
from .uow import reads, writes
from .views import expert_view, iso

INVITE_HOURS = 7 * 24
RESET_HOURS = 24
MAX_HOURS = 90 * 24
PROFILE_FIELDS = ("name", "degree", "licenses", "domains", "languages", "hourly_rate_usd", "country")
INVALID_LINK = "this link is unknown, already used or expired; ask for a new one"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_view(row: AccountLink, now: datetime | None = None) -> dict:
    now = now or utcnow()
    state = "used" if row.used_at else "expired" if row.expires_at <= now else "pending"
    return {"id": row.id, "kind": row.kind, "email": row.email, "role": row.role, "expert_id": row.expert_id,
            "name": (row.profile or {}).get("name"), "created_by": row.created_by,
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at), "used_at": iso(row.used_at),
            "state": state}


def _hours(value: object, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        hours = int(str(value).strip())
    except ValueError:
        raise ValidationFailed("must be a whole number of hours", loc="expires_hours") from None
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationFailed(f"must be between 1 and {MAX_HOURS} hours", loc="expires_hours")
    return hours


def _by(actor: Actor) -> str:
    return actor.role.value + (f" (token {actor.token_id})" if actor.token_id else "")


@writes
def create_invitation(session: Session, actor: Actor, data: dict, *, now: datetime | None = None) -> dict:
    """An invitation link for a new expert; returns ``secret`` (shown once) and the link's view."""
    require_staff(actor, "invite experts")
    if not isinstance(data, dict):
        raise ValidationFailed("must be an object", loc="body")
    data = dict(data)
    role_raw = str(data.pop("role", "trainer") or "trainer")
    hours = _hours(data.pop("expires_hours", None), INVITE_HOURS)
    try:
        role = Role(role_raw)
    except ValueError:
        raise ValidationFailed("must be trainer or reviewer", loc="role") from None
    if role not in (Role.trainer, Role.reviewer):
        raise ValidationFailed("must be trainer or reviewer (staff sign in with tokens)", loc="role")
    if not can_grant(actor, role):
        raise PermissionDenied(f"a {actor.role.value} may not invite a {role.value}")
    spec = parse_expert({k: v for k, v in data.items() if v not in (None, "")})  # every bad field named
    email = spec.email.strip().lower()
    if session.execute(select(Expert.id).where(Expert.email == email)).first() is not None:
        raise Conflict(f"an expert with email {email} already exists")
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    profile = {"name": spec.name, "degree": int(spec.degree), "licenses": list(spec.licenses),
               "domains": dict(spec.domains), "languages": list(spec.languages),
               "hourly_rate_cents": to_cents(spec.hourly_rate_usd), "country": spec.country}
    row = AccountLink(kind="invite", token_hash=_hash(secret), email=email, role=role.value, profile=profile,
                      created_by=_by(actor), created_at=now, expires_at=now + timedelta(hours=hours))
    session.add(row)
    session.flush()
    audit.record(session, actor, "expert.invited", target=email, detail={"role": role.value, "link": row.id,
                                                                        "expires_at": iso(row.expires_at)})
    return {"secret": secret, "path": f"/join/{secret}", **link_view(row, now)}


@reads
def list_links(session: Session, actor: Actor, limit: int = 100, *, kind: str | None = None) -> list[dict]:
    """Invitation and reset links, newest first (``kind``: only ``invite`` or ``reset``)."""
    require_staff(actor, "list invitations")
    now = utcnow()
    q = select(AccountLink).order_by(AccountLink.id.desc()).limit(min(max(limit, 1), 1000))
    if kind is not None:
        q = q.where(AccountLink.kind == kind)
    return [link_view(r, now) for r in session.execute(q).scalars()]


@writes
def revoke_invitation(session: Session, actor: Actor, link_id: int, *, now: datetime | None = None) -> dict:
    """End a pending invitation now: its link no longer signs anyone up (it reads as expired).
    Staff who may grant the invitation's role only; a used invitation made an account already
    (end that account's access instead)."""
    require_staff(actor, "revoke invitations")
    row = session.get(AccountLink, link_id)
    if row is None or row.kind != "invite":
        raise NotFound(f"invitation {link_id} not found")
    if not can_grant(actor, Role(row.role or Role.trainer.value)):
        raise PermissionDenied(f"a {actor.role.value} may not revoke a {row.role} invitation")
    now = now or utcnow()
    if row.used_at is not None:
        raise Conflict(f"invitation {link_id} was used on {iso(row.used_at)}: end that expert's access instead")
    if row.expires_at > now:
        row.expires_at = now
        audit.record(session, actor, "expert.invitation_revoked", target=row.email, detail={"link": row.id})
    session.flush()
    return link_view(row, now)


def _live_link(session: Session, secret: str, kind: str, now: datetime) -> AccountLink:
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        raise NotFound(INVALID_LINK)
    row = session.execute(select(AccountLink).where(AccountLink.token_hash == _hash(secret),
                                                    AccountLink.kind == kind)).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise NotFound(INVALID_LINK)
    return row


@reads
def invitation(session: Session, secret: str) -> dict:
    """What an invitation link prefills (for the sign-up page); NotFound when it cannot be used."""
    row = _live_link(session, secret, "invite", utcnow())
    return {**link_view(row), "profile": row.profile or {}}


def _use(session: Session, row: AccountLink, now: datetime) -> None:
    result = session.execute(update(AccountLink).where(AccountLink.id == row.id, AccountLink.used_at.is_(None))
                             .values(used_at=now))
    if not getattr(result, "rowcount", 0):
        raise NotFound(INVALID_LINK)


@writes
def accept_invitation(session: Session, secret: str, name: str, password: str, *,
                      now: datetime | None = None) -> tuple[Actor, str]:
    """Create the invited expert with a password; returns their actor and password fingerprint."""
    now = now or utcnow()
    row = _live_link(session, secret, "invite", now)
    check_password_strength(password)
    profile = dict(row.profile or {})
    name = (name or "").strip() or profile.get("name") or ""
    if not name or len(name) > 200:
        raise ValidationFailed("is required (at most 200 characters)", loc="name")
    if session.execute(select(Expert.id).where(Expert.email == row.email)).first() is not None:
        raise Conflict(f"an expert with email {row.email} already exists; sign in instead")
    _use(session, row, now)
    expert = Expert(name=name, email=row.email, degree=int(profile.get("degree") or 0),
                    licenses=list(profile.get("licenses") or []), domains=dict(profile.get("domains") or {}),
                    languages=list(profile.get("languages") or []),
                    hourly_rate_cents=int(profile.get("hourly_rate_cents") or 0), country=profile.get("country"),
                    status=ExpertStatus.active.value, password_hash=_hasher.hash(password), created_at=now)
    session.add(expert)
    session.flush()
    row.expert_id = expert.id
    if row.role == Role.reviewer.value:  # the role is granted as a token, like every role
        session.add(ApiToken(token_hash=hash_token(PREFIX + secrets.token_urlsafe(32)), role=Role.reviewer.value,
                             expert_id=expert.id, label="granted by invitation", created_at=now))
        session.flush()
    return Actor(role=expert_role(session, expert.id), expert_id=expert.id), password_fingerprint(expert.password_hash)


@writes
def create_reset(session: Session, actor: Actor | None, expert_id: int | None = None, *, email: str | None = None,
                 hours: object = None, now: datetime | None = None) -> dict | None:
    """A password-reset link for an expert (admins name the expert; ``actor=None`` with an
    ``email`` is the "forgot password" form, which returns None for an unknown email)."""
    now = now or utcnow()
    if actor is not None:
        require_admin(actor, "make password-reset links")
        expert = session.get(Expert, expert_id) if expert_id else None
        if expert is None:
            raise NotFound(f"expert {expert_id} not found")
    else:
        expert = session.execute(select(Expert).where(Expert.email == (email or "").strip().lower())
                                 ).scalar_one_or_none()
        # Only for someone who has a password to forget: an expert created by an import or a
        # roster never chose one, and "forgot password" must not become a sign-up without an
        # invitation.
        if expert is None or expert.status == ExpertStatus.offboarded.value or not expert.password_hash:
            return None
    if expert.status == ExpertStatus.offboarded.value:
        raise Conflict(f"expert {expert.id} is offboarded; they cannot sign in")
    secret = secrets.token_urlsafe(32)
    row = AccountLink(kind="reset", token_hash=_hash(secret), email=expert.email, expert_id=expert.id,
                      created_by=_by(actor) if actor else "the expert", created_at=now,
                      expires_at=now + timedelta(hours=_hours(hours, RESET_HOURS)))
    session.add(row)
    session.flush()
    if actor is not None:
        audit.record(session, actor, "expert.reset_link_made", target=f"expert {expert.id}", detail={"link": row.id})
    return {"secret": secret, "path": f"/reset/{secret}", "name": expert.name, **link_view(row, now)}


@reads
def reset_link(session: Session, secret: str) -> dict:
    row = _live_link(session, secret, "reset", utcnow())
    return link_view(row)


@writes
def reset_password(session: Session, secret: str, password: str, *, now: datetime | None = None) -> tuple[Actor, str]:
    now = now or utcnow()
    row = _live_link(session, secret, "reset", now)
    check_password_strength(password)
    expert = session.get(Expert, row.expert_id) if row.expert_id else None
    if expert is None or expert.status == ExpertStatus.offboarded.value:
        raise NotFound(INVALID_LINK)
    _use(session, row, now)
    expert.password_hash = _hasher.hash(password)  # other sessions end: the fingerprint changed
    return Actor(role=expert_role(session, expert.id), expert_id=expert.id), password_fingerprint(expert.password_hash)


@writes
def update_expert(session: Session, actor: Actor, expert_id: int, data: dict) -> dict:
    """Edit an expert's profile (every field of the import format but status); every bad field
    is named and nothing changes unless all is well."""
    require_staff(actor, "edit experts")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    if not isinstance(data, dict):
        raise ValidationFailed("must be an object", loc="body")
    spec = parse_expert({k: v for k, v in data.items() if v not in (None, "") and k != "status"})
    email = spec.email.strip().lower()
    if email != expert.email and session.execute(select(Expert.id).where(Expert.email == email)).first():
        raise Conflict(f"another expert has email {email}")
    expert.name, expert.email, expert.degree = spec.name, email, int(spec.degree)
    expert.licenses, expert.domains, expert.languages = list(spec.licenses), dict(spec.domains), list(spec.languages)
    expert.hourly_rate_cents, expert.country = to_cents(spec.hourly_rate_usd), spec.country
    audit.record(session, actor, "expert.updated", target=f"expert {expert.id}",
                 detail={"email": email, "hourly_rate_cents": expert.hourly_rate_cents})
    return expert_view(expert)


@writes
def end_access(session: Session, actor: Actor | None, expert_id: int, *, now: datetime | None = None) -> dict:
    """Revoke every live token of an expert and end their browser sessions (password ones too)."""
    if actor is not None:
        require_staff(actor, "revoke an expert's access")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    now = now or utcnow()
    tokens = list(session.execute(select(ApiToken).where(ApiToken.expert_id == expert_id,
                                                         ApiToken.revoked_at.is_(None))).scalars())
    if actor is not None:
        for t in tokens:
            if not can_grant(actor, Role(t.role)):
                raise PermissionDenied(f"a {actor.role.value} may not revoke {t.role} tokens")
    for t in tokens:
        t.revoked_at = now
    expert.sessions_revoked_at = now
    # Open reset and invitation links would let them back in: they end with the access.
    links = list(session.execute(select(AccountLink).where(
        (AccountLink.expert_id == expert.id) | (AccountLink.email == expert.email),
        AccountLink.used_at.is_(None), AccountLink.expires_at > now)).scalars())
    for link in links:
        link.used_at = now
    audit.record(session, actor, "expert.access_ended", target=f"expert {expert.id}",
                 detail={"revoked_tokens": [t.id for t in tokens], "closed_links": [link.id for link in links]})
    return {"expert_id": expert.id, "revoked_tokens": len(tokens), "sessions_ended_at": iso(now),
            "closed_links": len(links)}


@reads
def expert_tokens(session: Session, actor: Actor, expert_id: int) -> list[dict]:
    require_staff(actor, "list an expert's tokens")
    from .tokens import token_view

    rows = session.execute(select(ApiToken).where(ApiToken.expert_id == expert_id).order_by(ApiToken.id.desc()))
    return [token_view(r) for r in rows.scalars()]
