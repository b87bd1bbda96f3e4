"""One typed settings object, read from ``EXPERTLOOP_*`` environment variables.

Nothing reads settings at import time: entry points build a :class:`Settings` and pass it
down (``create_app(settings)``), so tests can hand in their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./expertloop.db"


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as ``EXPERTLOOP_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="EXPERTLOOP_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # A gap between heartbeats longer than this counts only up to this much active time:
    # a trainer who walks away from an open tab is not paid for the walk.
    heartbeat_idle_seconds: int = 120
    # SQLite waits this long for the write lock before giving up (BEGIN IMMEDIATE).
    sqlite_busy_timeout_ms: int = 30_000
    # Database connections each server process keeps open (as many more may open under load).
    # Unset: 5 on PostgreSQL (SQLAlchemy's default), 20 on SQLite. Keep workers x 2 x this under
    # the PostgreSQL server's max_connections.
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] | None = None
    # Cookies are marked Secure when the site is served over HTTPS.
    secure_cookies: bool = False
    # The largest item an import accepts, in bytes of its JSON content (prompt, answers, claims,
    # metadata): every lease sends the item to a trainer, so a huge one slows every request.
    max_item_bytes: Annotated[int, Field(ge=1_000)] = 1_000_000
    # Run jobs (consensus refits) in a background thread of each server process. `expertloop
    # serve` turns this on unless told --no-jobs; run `expertloop worker` processes otherwise.
    jobs_in_process: bool = False
    # Files the server writes (exports run as jobs go to DATA_DIR/exports); any worker that runs
    # jobs and every server process must see the same folder.
    data_dir: Path = Path("./expertloop-data")
    # Show the demo experts' sign-in details on the sign-in page (set by `serve --demo`).
    demo: bool = False
