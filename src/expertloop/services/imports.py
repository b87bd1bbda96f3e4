"""Importing items into a project: validate everything first, then insert all or nothing.

Imports are idempotent by ``external_id``: a record whose id the project already holds is
skipped, so re-running the same file after a crash or a partial upload is safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from ..domain.errors import Problem, ValidationFailed
from ..domain.items import ItemSpec, parse_item
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..storage import repositories as repo
from ..storage.orm import Item
from . import ai_help
from .clock import utcnow
from .projects import load_project
from .uow import run_write, write

Progress = Callable[[str, int], None]  # (phase, records done in that phase)
MAX_PROBLEMS = 50
BATCH = 1000
DEFAULT_MAX_ITEM_BYTES = 1_000_000  # Settings.max_item_bytes
# Planner statistics are refreshed after an import once the items table has grown by more than
# ANALYZE_GROWTH (and ANALYZE_MIN rows) since they were taken: about forty times while a project
# grows to a million items, whatever the batch size.
ANALYZE_MIN = 1000
ANALYZE_GROWTH = 1.2


def item_size(record: object) -> int:
    """Bytes of an item's JSON, as it is stored and served."""
    return len(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8",
                                                                                                 "surrogatepass"))


def import_items(session: Session, actor: Actor, project_id: int,
                 records: Iterable[tuple[int | None, object]], *,
                 progress: Progress | None = None, unit: str = "line",
                 max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> dict:
    """Validate and store items; ``records`` pairs each record with its line (or index).

    Every text must be storable (no NUL, valid Unicode) and each item at most
    ``max_item_bytes`` of JSON. An import that leaves the planner statistics stale refreshes
    them (:func:`refresh_statistics`), so the claim and the existing-id check keep their indexes.
    """
    require_staff(actor, "import items")
    project = load_project(session, project_id)  # its own read unit: validation holds no lock
    task_type = TaskType(project.task_type)
    specs: list[ItemSpec] = []
    problems: list[Problem] = []
    first_line: dict[str, int | None] = {}
    for n, (line, record) in enumerate(records, 1):
        where = f"{unit} {line}" if line is not None else f"item {n}"
        try:
            spec = parse_item(record, task_type, project.options)  # storable text, bounded depth first
        except ValidationFailed as exc:
            problems += exc.prefixed(where).problems
        else:
            size = item_size(record)
            if size > max_item_bytes:
                problems.append(Problem(where, f"is {size:,} bytes of JSON; an item may hold at most "
                                               f"{max_item_bytes:,} (EXPERTLOOP_MAX_ITEM_BYTES)"))
            else:
                if spec.external_id is not None:
                    if spec.external_id in first_line:
                        problems.append(Problem(f"{where}: external_id", f"{spec.external_id!r} repeats "
                                                f"{unit} {first_line[spec.external_id]}"))
                    first_line.setdefault(spec.external_id, line)
                specs.append(spec)
        if len(problems) >= MAX_PROBLEMS:
            problems.append(Problem("", f"stopped after {MAX_PROBLEMS} problems"))
            break
        if progress and n % 500 == 0:
            progress("validate", n)
    if problems:
        raise ValidationFailed(problems)
    if progress:
        progress("validate", len(specs))
    if not specs:
        raise ValidationFailed("the file holds no items")
    result = run_write(session, lambda: _store(session, project, specs, list(first_line), progress))
    if result["imported"]:
        refresh_statistics(session)
    return result


def _store(session: Session, project, specs: list[ItemSpec], external_ids: list[str],
           progress: Progress | None) -> dict:
    existing = repo.existing_external_ids(session, project.id, external_ids)
    fresh = [s for s in specs if s.external_id is None or s.external_id not in existing]
    now = utcnow()
    target = (project.adaptive_overlap or {}).get("min", project.overlap)
    for start in range(0, len(fresh), BATCH):
        chunk = fresh[start:start + BATCH]
        session.execute(insert(Item), [
            {"project_id": project.id, "external_id": s.external_id, "priority": s.priority,
             "payload": s.payload, "gold": s.gold, "meta": s.metadata, "done_count": 0, "target_overlap": target,
             "created_at": now} for s in chunk])
        if progress:
            progress("store", start + len(chunk))
    if fresh:
        ai_help.queue_suggestions(session, project)  # AI help is generated ahead, by a job
    return {"project_id": project.id, "imported": len(fresh), "skipped_existing": len(specs) - len(fresh),
            "with_gold": sum(1 for s in fresh if s.gold is not None)}


def refresh_statistics(session: Session, *, force: bool = False) -> bool:
    """Bring the planner's statistics of the work tables up to date after a bulk write, when
    the items table has grown by more than ``ANALYZE_GROWTH`` since they were taken (or always,
    with ``force``). Returns whether it ran.

    Without them PostgreSQL plans the claim and the existing-id check as if the tables were
    empty (servers with autovacuum off never catch up), and SQLite may ignore the claim index.
    Runs in its own short unit of work; a failure here never undoes the import it follows.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        return False
    try:
        with write(session):
            return _refresh_statistics(session, dialect, force)
    except Exception:  # statistics are an optimisation: never fail an import that is stored
        return False


def _refresh_statistics(session: Session, dialect: str, force: bool) -> bool:
    if not force:
        rows = session.execute(text("SELECT coalesce(max(id), 0) FROM items")).scalar_one()
        if dialect == "postgresql":
            seen = session.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'items'::regclass")).scalar()
        else:
            stats = session.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'items'")).scalars().all() \
                if _has_sqlite_stat1(session) else []
            seen = max((int(str(st).split()[0]) for st in stats), default=0)
        if rows <= max(float(seen or 0), 0.0) * ANALYZE_GROWTH + ANALYZE_MIN:
            return False
    session.execute(text("ANALYZE items"))
    session.execute(text("ANALYZE assignments"))
    if dialect == "sqlite":
        session.execute(text("PRAGMA optimize"))
    return True


def _has_sqlite_stat1(session: Session) -> bool:
    return session.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar_one() > 0
