"""Bearer tokens: issued once, stored only as a SHA-256 hash, bound to a role and an expert."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from ..domain.errors import NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from ..domain.policies import Actor, Role, can_grant
from ..storage import repositories as repo
from ..storage.orm import ApiToken, Expert
from .uow import reads, writes

PREFIX = "el_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@writes
def issue_token(session: Session, role: Role | str, expert_id: int | None = None,
                label: str | None = None, *, actor: Actor | None = None) -> str:
    """Create a token and return it in clear (the only time it is seen).

    ``actor=None`` means the operator at the command line, who may grant anything.
    """
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(r.value for r in Role)}", loc="role") from None
    if actor is not None and not can_grant(actor, role):
        raise PermissionDenied(f"a {actor.role.value} may not create {role.value} tokens")
    if role in (Role.trainer, Role.reviewer) and expert_id is None:
        raise ValidationFailed(f"a {role.value} token must be bound to an expert (--expert ID)", loc="expert")
    if expert_id is not None and session.get(Expert, expert_id) is None:
        raise NotFound(f"expert {expert_id} not found")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=hash_token(token), role=role.value, expert_id=expert_id, label=label))
    return token


@reads
def authenticate(session: Session, token: str | None) -> Actor:
    if not token:
        raise Unauthenticated("missing bearer token (Authorization: Bearer el_...)")
    row = repo.token_by_hash(session, hash_token(token.strip()))
    if row is None:
        raise Unauthenticated("unknown or revoked token")
    return Actor(role=Role(row.role), expert_id=row.expert_id, token_id=row.id)
