"""Backups of the embedded SQLite database, taken and restored while the server runs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot page by
page without stopping writers, so a backup never needs the server down, and WAL content that
has not been checkpointed yet is included. A plain file copy would not be safe: it can catch the
database halfway through a write. PostgreSQL has its own well-kept tools (``pg_dump`` /
``pg_restore``); they are the right way there and :data:`POSTGRES_GUIDANCE` says how.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ..domain.errors import Conflict, ValidationFailed

POSTGRES_GUIDANCE = (
    "PostgreSQL databases are backed up with PostgreSQL's own tools, which are consistent while the "
    "server runs: `pg_dump --format=custom --file=expertloop.dump DBNAME` to back up, and "
    "`pg_restore --clean --if-exists --dbname=DBNAME expertloop.dump` to restore (then `expertloop init` "
    "to bring an older dump's schema up to date).")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    schema_revision: str | None


def sqlite_path(database_url: str) -> Path:
    """The file behind a ``sqlite:///`` URL; any other database is refused with guidance."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise ValidationFailed(POSTGRES_GUIDANCE, loc="EXPERTLOOP_DATABASE_URL")
    if not url.database or url.database == ":memory:":
        raise ValidationFailed("an in-memory SQLite database has no file to back up", loc="EXPERTLOOP_DATABASE_URL")
    return Path(url.database)


def _revision(conn: sqlite3.Connection) -> str | None:
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone()
    if not has:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def backup(database_url: str, target: Path, *, overwrite: bool = False,
           progress: ProgressCallback | None = None) -> BackupResult:
    """Copy the live database at ``database_url`` into ``target`` (a new SQLite file)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise ValidationFailed(f"no database at {source_path}", loc="EXPERTLOOP_DATABASE_URL")
    if target.exists() and not overwrite:
        raise Conflict(f"{target} already exists; choose another file or pass --overwrite")
    if target.resolve() == source_path.resolve():
        raise ValidationFailed("the backup file must not be the database itself", loc="FILE")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        revision = _revision(src)
        if revision is None:
            raise ValidationFailed(f"{source_path} has no expertloop schema; nothing to back up",
                                   loc="EXPERTLOOP_DATABASE_URL")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024,
                       progress=(lambda _status, remaining, total: progress(total - remaining, total))
                       if progress else None)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    partial.replace(target)  # the backup appears whole or not at all
    return BackupResult(path=target, pages=int(pages), schema_revision=revision)


def restore(backup_file: Path, database_url: str, *, overwrite: bool = False) -> BackupResult:
    """Replace the database at ``database_url`` with the backup in ``backup_file``.

    The backup is checked first (a readable SQLite file with an expertloop schema that passes
    ``PRAGMA integrity_check``); an existing database is replaced only with ``overwrite``. The copy
    goes through the backup API too, so a server that still holds the file open sees the restored
    content, never a half-written file. Run ``expertloop init`` afterwards to migrate an older backup.
    """
    target_path = sqlite_path(database_url)
    if not backup_file.exists():
        raise ValidationFailed(f"no backup file at {backup_file}", loc="FILE")
    try:
        src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        check = src.execute("PRAGMA integrity_check").fetchone()[0]
        revision = _revision(src)
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(f"{backup_file} is not a SQLite database ({exc})", loc="FILE") from None
    try:
        if check != "ok":
            raise ValidationFailed(f"{backup_file} fails SQLite's integrity check: {check}", loc="FILE")
        if revision is None:
            raise ValidationFailed(f"{backup_file} holds no expertloop schema", loc="FILE")
        if target_path.exists() and target_path.stat().st_size > 0 and not overwrite:
            raise Conflict(f"a database already exists at {target_path}; pass --overwrite to replace it")
        dst = sqlite3.connect(target_path)
        try:
            src.backup(dst, pages=1024)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    return BackupResult(path=target_path, pages=int(pages), schema_revision=revision)
