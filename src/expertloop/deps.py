"""HTTP dependencies shared by both transports (the JSON API and the browser pages).

Neither ``api/`` nor ``web/`` owns this module, so neither imports the other. A request gets a
session that begins nothing by itself (services open their units of work), the settings the
app was built with, and the calling actor from a bearer token.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from .config import Settings
from .domain.policies import Actor
from .services.tokens import authenticate

bearer = HTTPBearer(auto_error=False, description="A token from `expertloop token create`")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; closing it ends anything a failed unit left open."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_actor(session: Session = Depends(get_session),
              credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    return authenticate(session, credentials.credentials if credentials else None)
