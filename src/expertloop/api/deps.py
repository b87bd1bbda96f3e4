"""Request-scoped dependencies: a database session and the calling actor."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..config import Settings
from ..domain.policies import Actor
from ..services.tokens import authenticate

bearer = HTTPBearer(auto_error=False, description="A token from `expertloop token create`")


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_actor(session: Session = Depends(get_session),
              credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    actor = authenticate(session, credentials.credentials if credentials else None)
    session.commit()  # end the read so a write service can open its own (IMMEDIATE) transaction
    return actor
