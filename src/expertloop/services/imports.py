"""Importing items into a project: validate everything first, then insert all or nothing.

Imports are idempotent by ``external_id``: a record whose id the project already holds is
skipped, so re-running the same file after a crash or a partial upload is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..domain.errors import Problem, ValidationFailed
from ..domain.items import ItemSpec, parse_item
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..storage import repositories as repo
from ..storage.orm import Item
from .clock import utcnow
from .projects import load_project
from .uow import run_write

Progress = Callable[[str, int], None]  # (phase, records done in that phase)
MAX_PROBLEMS = 50
BATCH = 1000


def import_items(session: Session, actor: Actor, project_id: int,
                 records: Iterable[tuple[int | None, object]], *,
                 progress: Progress | None = None, unit: str = "line") -> dict:
    """Validate and store items; ``records`` pairs each record with its line (or index)."""
    require_staff(actor, "import items")
    project = load_project(session, project_id)  # its own read unit: validation holds no lock
    task_type = TaskType(project.task_type)
    specs: list[ItemSpec] = []
    problems: list[Problem] = []
    first_line: dict[str, int | None] = {}
    for n, (line, record) in enumerate(records, 1):
        where = f"{unit} {line}" if line is not None else f"item {n}"
        try:
            spec = parse_item(record, task_type, project.options)
        except ValidationFailed as exc:
            problems += exc.prefixed(where).problems
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
    return run_write(session, lambda: _store(session, project, specs, list(first_line), progress))


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
    return {"project_id": project.id, "imported": len(fresh), "skipped_existing": len(specs) - len(fresh),
            "with_gold": sum(1 for s in fresh if s.gold is not None)}
