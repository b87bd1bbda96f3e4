"""Progress counts that stay quick at a million items.

Counting a project's items (complete, remaining, judgments needed) and its assignments by state
reads two covering indexes end to end: about 0.4 s at a million items and a million judgments,
on every page that shows a progress bar. For projects of at least :data:`LARGE_ITEMS` items the
job runner keeps a copy of those counts (``progress_snapshots``), recounted every
:data:`REFRESH_SECONDS` (:func:`refresh_large`); readers take the copy and add the live leases,
which are counted on each read (a short read of the leases alone). Served counts then carry
``as_of``, the time they were counted, so a page can say how old they are. Smaller projects are
counted on every read, exactly, as before.

Why a copy and not counters kept by every write: a counter on the project row would be written
by every submit of the programme (one hot row for hundreds of trainers); the runner recounts in
one read every few seconds instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..storage import repositories as repo
from ..storage.db import is_sqlite
from ..storage.orm import Item, ProgressSnapshot
from .clock import utcnow
from .uow import read as uow_read
from .uow import run_write
from .views import iso

LARGE_ITEMS = 100_000   # from here on, pages read the runner's copy (a live count takes ~40 ms)
REFRESH_SECONDS = 15    # how often the runner recounts a large project
DISCOVER_SECONDS = 60   # how often the runner looks for projects that became large
# A copy older than this is not served (no job runner is running, or its recounts fail): the
# counts are made on the read instead, slower but never frozen.
MAX_AGE_SECONDS = 8 * REFRESH_SECONDS


def copies(session: Session, project_ids: Sequence[int] | None = None, *,
           now: datetime | None = None) -> dict[int, tuple[dict, datetime]]:
    """The current copies (``None``: of every project): ``{project_id: (counts, computed_at)}``.
    A copy older than :data:`MAX_AGE_SECONDS` is left out, so its project is counted live."""
    q = (select(ProgressSnapshot.project_id, ProgressSnapshot.counts, ProgressSnapshot.computed_at)
         .where(ProgressSnapshot.computed_at >= (now or utcnow()) - timedelta(seconds=MAX_AGE_SECONDS)))
    if project_ids is not None and len(project_ids) <= repo.MAX_IN_IDS:
        q = q.where(ProgressSnapshot.project_id.in_(list(project_ids)))
    return {pid: (counts, at) for pid, counts, at in session.execute(q)}


def by_project(session: Session, project_ids: Sequence[int], now: datetime) -> dict[int, dict]:
    """Progress counts per project (inside the caller's read unit): the runner's copy, with
    the live leases read now, for large projects; counted now for the others."""
    ids = list(project_ids)
    if not ids:
        return {}
    stored = copies(session, ids, now=now)
    counted = [pid for pid in ids if pid not in stored]
    out = repo.progress_by_project(session, counted, now) if counted else {}
    if stored:
        leases = repo.lease_counts(session, list(stored), now)
        for pid, (counts, at) in stored.items():
            if pid in ids:
                out[pid] = {**counts, "items_in_progress": 0, "live_leases": 0, **leases.get(pid, {}),
                            "as_of": iso(at)}
    return out


def one(session: Session, project_id: int, now: datetime) -> dict:
    return by_project(session, [project_id], now)[project_id]


def refresh_large(session: Session, *, discover: bool, now: datetime | None = None) -> int:
    """The runner's tick: recount the large projects whose copy is older than
    :data:`REFRESH_SECONDS` (and, with ``discover``, find projects that grew large); drop copies
    of projects that are no longer large. Reads in a read unit, stores in a short write unit.
    Returns how many projects were recounted."""
    now = now or utcnow()
    due_before = now - timedelta(seconds=REFRESH_SECONDS - 1)  # the runner's tick is every REFRESH_SECONDS
    with uow_read(session):
        known = dict(session.execute(select(ProgressSnapshot.project_id, ProgressSnapshot.computed_at)).all())
        large = set(known)
        if discover:
            large = set(session.execute(
                select(Item.project_id).where(Item.retired_at.is_(None)).group_by(Item.project_id)
                .having(func.count() >= LARGE_ITEMS)).scalars())
        due = sorted(pid for pid in large if pid not in known or known[pid] < due_before)
        counts = repo.progress_by_project(session, due, now) if due else {}
    gone = sorted(set(known) - large) if discover else []
    fresh = {pid: c for pid, c in counts.items() if c["items"] >= LARGE_ITEMS}
    gone += [pid for pid in counts if pid not in fresh]
    if not fresh and not gone:
        return 0

    def store() -> None:
        if gone:
            session.execute(delete(ProgressSnapshot).where(ProgressSnapshot.project_id.in_(gone)))
        insert = (sqlite_insert if is_sqlite(session) else postgresql_insert)(ProgressSnapshot)
        for pid, c in fresh.items():  # an upsert: two runners may recount the same project at once
            kept = {k: v for k, v in c.items() if k not in ("items_in_progress", "live_leases")}
            session.execute(insert.values(project_id=pid, counts=kept, computed_at=now).on_conflict_do_update(
                index_elements=["project_id"], set_={"counts": kept, "computed_at": now}))

    run_write(session, store)
    return len(fresh)
