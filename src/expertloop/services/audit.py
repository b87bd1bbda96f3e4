"""The staff audit log (placeholder until the shared log lands; same signature)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from ..domain.policies import Actor

_log = logging.getLogger("expertloop.audit")


def record(session: Session, actor: Actor | None, action: str, *, project_id: int | None = None,
           target: str | None = None, detail: dict | None = None) -> None:
    _log.info("%s by %s on %s (project %s): %s", action, actor, target, project_id, detail)
