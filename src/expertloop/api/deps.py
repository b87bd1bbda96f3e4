"""The API's request dependencies: the shared ones of :mod:`expertloop.deps`, re-exported so
routes keep importing them from here."""

from __future__ import annotations

from ..deps import bearer, get_actor, get_session, get_settings

__all__ = ["bearer", "get_actor", "get_session", "get_settings"]
