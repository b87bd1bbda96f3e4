"""Bearer tokens: issued once, stored only as a SHA-256 hash, bound to a role and an expert."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.checks import MAX_ID, text_problem
from ..domain.errors import NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from ..domain.policies import Actor, Role, can_grant
from ..storage import repositories as repo
from ..storage.orm import ApiToken, Expert
from . import audit
from .clock import utcnow
from .uow import reads, writes
from .views import iso

PREFIX = "el_"
MAX_LABEL = 200


def token_view(row: ApiToken) -> dict:
    """A token without its secret: only its hash is stored, and that is never shown."""
    return {"id": row.id, "role": row.role, "expert_id": row.expert_id, "label": row.label,
            "created_at": iso(row.created_at), "revoked_at": iso(row.revoked_at)}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@writes
def issue_token(session: Session, role: Role | str, expert_id: int | None = None,
                label: str | None = None, *, actor: Actor | None = None) -> str:
    """Create a token and return it in clear (the only time it is seen).

    ``actor=None`` means the operator at the command line, who may grant anything.
    """
    return create_token(session, role, expert_id, label, actor=actor)["token"]


@writes
def create_token(session: Session, role: Role | str, expert_id: int | None = None,
                 label: str | None = None, *, actor: Actor | None = None) -> dict:
    """Like :func:`issue_token`, returning the token in clear with its id, role and label."""
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(r.value for r in Role)}", loc="role") from None
    if actor is not None and not can_grant(actor, role):
        raise PermissionDenied(f"a {actor.role.value} may not create {role.value} tokens")
    if role in (Role.trainer, Role.reviewer) and expert_id is None:
        raise ValidationFailed(f"a {role.value} token must be bound to an expert (--expert ID)", loc="expert")
    if expert_id is not None and not 1 <= expert_id <= MAX_ID:
        raise NotFound(f"expert {expert_id} not found")
    if label is not None:
        if not isinstance(label, str):
            raise ValidationFailed("must be a string", loc="label")
        problem = text_problem(label) or (f"must be at most {MAX_LABEL} characters" if len(label) > MAX_LABEL
                                          else None)
        if problem:
            raise ValidationFailed(problem, loc="label")
    if expert_id is not None and session.get(Expert, expert_id) is None:
        raise NotFound(f"expert {expert_id} not found")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_token(token), role=role.value, expert_id=expert_id, label=label)
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.issued", target=f"token {row.id}",
                 detail={"role": role.value, "expert_id": expert_id, "label": label})
    return {"token": token, **token_view(row)}


@reads
def list_tokens(session: Session, actor: Actor | None = None) -> list[dict]:
    """Tokens without secrets, newest first. Admins (and the operator, ``actor=None``) see every
    token; managers the reviewer and trainer tokens they may issue."""
    if actor is not None and actor.role not in (Role.admin, Role.manager):
        raise PermissionDenied("only admins and managers may list tokens")
    q = select(ApiToken).order_by(ApiToken.id.desc())
    if actor is not None and actor.role != Role.admin:
        q = q.where(ApiToken.role.in_([r.value for r in Role if can_grant(actor, r)]))
    return [token_view(row) for row in session.execute(q).scalars()]


@writes
def revoke_token(session: Session, token_id: int, *, actor: Actor | None = None,
                 now: datetime | None = None) -> dict:
    """Revoke a token: the next request with it (API or browser session) is refused.

    Admins (and the operator) revoke any token, managers the roles they may issue. Revoking a
    revoked token changes nothing and returns it as it stands.
    """
    if actor is not None and actor.role not in (Role.admin, Role.manager):
        raise PermissionDenied("only admins and managers may revoke tokens")
    if not 1 <= token_id <= MAX_ID:
        raise NotFound(f"token {token_id} not found")
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    if actor is not None and not can_grant(actor, Role(row.role)):
        raise PermissionDenied(f"a {actor.role.value} may not revoke {row.role} tokens")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.record(session, actor, "token.revoked", target=f"token {row.id}",
                     detail={"role": row.role, "expert_id": row.expert_id})
    return token_view(row)


@reads
def authenticate(session: Session, token: str | None) -> Actor:
    if not token:
        raise Unauthenticated("missing bearer token (Authorization: Bearer el_...)")
    row = repo.token_identity(session, hash_token(token.strip()))
    if row is None:
        raise Unauthenticated("unknown or revoked token")
    token_id, role, expert_id = row
    return Actor(role=Role(role), expert_id=expert_id, token_id=token_id)
