"""Passwords and browser sign-in: argon2 hashes, the role an expert signs in with, and the
installation's signing secret.

- Admins set an expert's password (``expertloop experts set-password ID``); only an argon2id
  hash is stored, in ``experts.password_hash``.
- An expert who signs in with a password acts as a trainer, or as a reviewer when a live
  reviewer token has been issued for them (``expertloop token create --role reviewer --expert ID``):
  roles are granted through tokens, and revoking the token takes the role back.
- Staff (admins, managers) have no expert record and sign in with a bearer token.
- A browser session names a token id or an expert id (never the token itself) and is checked
  against the database on every request, so a revoked token, an offboarded expert or a changed
  password ends every session at once, on every worker.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.errors import NotFound, Unauthenticated, ValidationFailed
from ..domain.experts import ExpertStatus
from ..domain.policies import Actor, Role, require_admin
from ..storage.orm import ApiToken, Expert, InstanceSecret
from . import uow
from .uow import reads, writes

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SESSION_KEY = "web_session_key"

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified when the email is unknown, so a miss costs as long as a hit (no account probing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"must be at least {MIN_PASSWORD} characters", loc="password")
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(f"must be at most {MAX_PASSWORD} characters", loc="password")
    if password.strip() != password or not password.strip():
        raise ValidationFailed("must not start or end with spaces", loc="password")


@writes
def set_password(session: Session, actor: Actor | None, expert_id: int, password: str) -> dict:
    """Store an argon2 hash of ``password`` for an expert; ends their other browser sessions.

    ``actor=None`` is the operator at the command line (who holds the database).
    """
    if actor is not None:
        require_admin(actor, "set passwords")
    check_password_strength(password)
    hashed = _hasher.hash(password)
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    expert.password_hash = hashed
    out = {"expert_id": expert.id, "email": expert.email}
    return out


def password_fingerprint(password_hash: str | None) -> str:
    """Changes whenever the password does; kept in the session to end it on a change."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def sign_in_with_password(session: Session, email: str, password: str) -> tuple[Actor, str]:
    """The actor for an email and password, and the password fingerprint; Unauthenticated if wrong."""
    email = (email or "").strip().lower()
    with uow.read(session):
        expert = session.execute(select(Expert).where(Expert.email == email)).scalar_one_or_none()
    stored = expert.password_hash if expert is not None and expert.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
        ok = stored is not _DUMMY_HASH
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or expert is None:
        raise Unauthenticated("wrong email or password")
    if expert.status == ExpertStatus.offboarded.value:
        raise Unauthenticated("this account has been offboarded")
    if _hasher.check_needs_rehash(stored):  # parameters were raised since it was stored
        rehashed = _hasher.hash(password)

        def store() -> None:
            session.get_one(Expert, expert.id).password_hash = rehashed

        uow.run_write(session, store)
        stored = rehashed
    return Actor(role=expert_role(session, expert.id), expert_id=expert.id), password_fingerprint(stored)


@reads
def expert_role(session: Session, expert_id: int) -> Role:
    """Reviewer when a live reviewer token names the expert, else trainer."""
    roles = set(session.execute(select(ApiToken.role).where(
        ApiToken.expert_id == expert_id, ApiToken.revoked_at.is_(None))).scalars())
    return Role.reviewer if Role.reviewer.value in roles else Role.trainer


@reads
def actor_for_token_id(session: Session, token_id: int) -> Actor:
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("your token was revoked; sign in again")
    return Actor(role=Role(row.role), expert_id=row.expert_id, token_id=row.id)


@reads
def actor_for_expert(session: Session, expert_id: int, fingerprint: str, issued_at: float | None = None) -> Actor:
    """The actor of a password session; Unauthenticated when the expert was offboarded, changed
    password, or had their sessions ended (``sessions_revoked_at``) after ``issued_at``."""
    expert = session.get(Expert, expert_id)
    if (expert is None or expert.status == ExpertStatus.offboarded.value
            or not secrets.compare_digest(password_fingerprint(expert.password_hash), fingerprint)
            or (expert.sessions_revoked_at is not None
                and (issued_at is None or issued_at <= expert.sessions_revoked_at.timestamp()))):
        raise Unauthenticated("your session has ended; sign in again")
    return Actor(role=expert_role(session, expert.id), expert_id=expert.id)


@reads
def display_name(session: Session, actor: Actor) -> str:
    """The expert's name, else the token's label, else the role."""
    if actor.expert_id is not None:
        expert = session.get(Expert, actor.expert_id)
        if expert is not None:
            return expert.name
    if actor.token_id is not None:
        row = session.get(ApiToken, actor.token_id)
        if row is not None and row.label:
            return row.label
    return actor.role.value.capitalize()


def instance_secret(session: Session, name: str = SESSION_KEY) -> bytes:
    """A random 256-bit secret shared by every worker, created on first use."""
    with uow.read(session):
        value = session.execute(select(InstanceSecret.value)
                                .where(InstanceSecret.name == name)).scalar_one_or_none()
    if value is None:
        try:
            value = uow.run_write(session, lambda: _create_secret(session, name))
        except IntegrityError:  # another worker made it first (PostgreSQL); use theirs
            with uow.read(session):
                value = session.execute(select(InstanceSecret.value)
                                        .where(InstanceSecret.name == name)).scalar_one()
    return bytes.fromhex(value)


def _create_secret(session: Session, name: str) -> str:
    value = session.execute(select(InstanceSecret.value).where(InstanceSecret.name == name)).scalar_one_or_none()
    if value is None:
        value = secrets.token_hex(32)
        session.add(InstanceSecret(name=name, value=value))
    return value
