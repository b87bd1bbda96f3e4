"""Liveness: one round trip to the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .uow import reads


@reads
def database_status(session: Session) -> dict:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": session.get_bind().dialect.name}
