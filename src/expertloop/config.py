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
    # Authenticity flags (docs/integrity.md): a free-text field of at least `min_chars`
    # characters is flagged for staff review when this share of its text arrived by paste or
    # other insertion without keystrokes, or when this share of its character 5-grams is found
    # in one of the item's model outputs. A flag never changes pay by itself.
    authenticity_unkeyed_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    authenticity_similarity: Annotated[float, Field(gt=0, le=1)] = 0.8
    authenticity_min_chars: Annotated[int, Field(ge=1)] = 200
    # Files the server writes (exports run as jobs go to DATA_DIR/exports); any worker that runs
    # jobs and every server process must see the same folder.
    data_dir: Path = Path("./expertloop-data")
    # Send invitation and password-reset links by mail (smtp://user:password@host:587?from=address,
    # or smtps://); without it the console shows each link to the staff member who made it.
    smtp_url: str | None = None
    # The address people reach this server at (https://expertloop.example.org): mailed links are
    # built from it, never from a request's Host header; without it no link is mailed to a
    # "forgot password" request.
    public_url: str | None = None
    # Show the demo experts' sign-in details on the sign-in page (set by `serve --demo`).
    demo: bool = False
    # An OpenAI-compatible server (up to /v1) for the demo's model-candidates project; without it
    # the demo ships pre-written answers and works offline.
    demo_model_url: str | None = None
    # The model the demo asks for at demo_model_url (e.g. Ollama's llama3.2:1b).
    demo_model: str = "llama3.2:1b"
