""""Forgot password": a reset link mailed to an address, limited per email and per client.

Each request is counted against its email address and its client address (rows of
``reset_requests``, keyed by a SHA-256 of ``email:…`` or ``client:…``), in the database, so the
limit holds across workers and machines: at most :data:`PER_EMAIL` requests an hour for one
address and :data:`PER_CLIENT` from one client. A request over either limit makes no link.

The answer never says whether an account exists, nor whether a limit was reached: the caller
shows the same words in every case. Every request is counted, known address or not, so the
limits cannot tell them apart either. Rows older than :data:`KEEP` are pruned as requests come.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..storage.orm import ResetRequest
from .accounts import create_reset
from .clock import utcnow
from .uow import writes

PER_EMAIL = 3          # requests an hour for one email address
PER_CLIENT = 20        # requests an hour from one client address
WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)
MAX_EMAIL = 320


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()


@writes
def forgot_password(session: Session, email: str, client: str, *, now: datetime | None = None,
                    per_email: int = PER_EMAIL, per_client: int = PER_CLIENT) -> dict | None:
    """A reset link for the account with ``email`` (see :func:`.accounts.create_reset`), or None:
    no such account with a password, or too many requests for this email or from this client
    within the hour. The caller answers the same way whatever this returns."""
    now = now or utcnow()
    address = email.strip().lower()[:MAX_EMAIL]
    keys = (_key("email", address), _key("client", client or "unknown"))
    session.execute(delete(ResetRequest).where(ResetRequest.created_at < now - KEEP))
    counts = dict(session.execute(
        select(ResetRequest.key, func.count()).where(ResetRequest.key.in_(keys),
                                                      ResetRequest.created_at > now - WINDOW)
        .group_by(ResetRequest.key)).all())
    session.add_all(ResetRequest(key=k, created_at=now) for k in keys)
    session.flush()
    if counts.get(keys[0], 0) >= per_email or counts.get(keys[1], 0) >= per_client:
        return None
    return create_reset(session, None, email=address, now=now)


__all__ = ["KEEP", "PER_CLIENT", "PER_EMAIL", "WINDOW", "forgot_password"]
