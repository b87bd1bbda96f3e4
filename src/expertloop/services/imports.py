"""Importing items into a project: streamed in batches, all or nothing.

Imports are idempotent by ``external_id``: a record whose id the project already holds is
skipped, so re-running the same file after a crash or a partial upload is safe.

A file of any size is read record by record and written in batches of :data:`BATCH` inside one
write unit: each batch is validated, checked against the project with one indexed lookup of its
external ids and inserted in bulk (``COPY`` on PostgreSQL). Every problem in the file is
collected on the way (up to :data:`MAX_PROBLEMS`); if there is any, the unit rolls back and
nothing is stored. Memory stays flat however large the file, and a batch costs the same in a
project of a million items as in an empty one.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from ..domain.checks import storable_json
from ..domain.errors import Problem, ValidationFailed
from ..domain.items import CONTROL_FIELDS, ItemSpec, parse_item
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..storage import repositories as repo
from ..storage.orm import Item
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
# items.generation: what an item waits for before experts may lease it (its target_overlap is 0
# meanwhile). PENDING: its candidate answers or claims; FAILED: a model refused to write them;
# SCREENING: the judge_first judge; JUDGED: the judge decided it confidently, no expert needed.
PENDING, FAILED, SCREENING, JUDGED = "pending", "failed", "screening", "judged"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def item_size(record: object) -> int:
    """Bytes of an item's JSON, as it is stored and served."""
    return len(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8",
                                                                                                 "surrogatepass"))


def import_items(session: Session, actor: Actor, project_id: int,
                 records: Iterable[tuple[int | None, object]], *,
                 progress: Progress | None = None, unit: str = "line",
                 max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> dict:
    """Validate and store items; ``records`` pairs each record with its line (or index), or a
    line with the :class:`Problem` that made it unreadable (see ``files.RecordFile``).

    Every text must be storable (no NUL, valid Unicode) and each item at most
    ``max_item_bytes`` of JSON. An import that leaves the planner statistics stale refreshes
    them (:func:`refresh_statistics`), so the claim and the existing-id check keep their indexes.
    ``progress("import", n)`` is called after each batch with the records read so far.
    """
    require_staff(actor, "import items")
    project = load_project(session, project_id)  # its own read unit
    run = _Import(session, project, unit, max_item_bytes, progress)

    def run_and_queue(recs: Iterable[tuple[int | None, object]]) -> dict:
        out = run.run(recs)
        if out["imported"] and (project.options or {}).get("ai_assistance"):
            from . import ai_help  # loaded only then: the model clients are no part of a plain import

            ai_help.queue_suggestions(session, project)  # AI help is generated ahead, by a job
        return out

    if isinstance(records, Sequence):  # a list can be read again: the unit may retry
        result = run_write(session, lambda: run_and_queue(records))
    else:  # a stream is read once; bulk inserts of new rows do not deadlock
        with write(session):
            result = run_and_queue(records)
    if result["imported"]:
        refresh_statistics(session)
    return result


class _Import:
    def __init__(self, session: Session, project: Any, unit: str, max_item_bytes: int,
                 progress: Progress | None):
        self.session, self.project, self.unit = session, project, unit
        self.task_type = TaskType(project.task_type)
        self.max_item_bytes = max_item_bytes
        self.progress = progress
        self.target = (project.adaptive_overlap or {}).get("min", project.overlap)
        models = project.models or {}
        self.candidates, self.splitter = models.get("candidates"), models.get("claims")
        self.screened = bool(models.get("judge_first"))

    def run(self, records: Iterable[tuple[int | None, object]]) -> dict:
        self.problems: list[Problem] = []
        self.imported = self.skipped = self.with_gold = self.read = self.awaiting = 0
        self.lines = array("q")  # the line of each row inserted, in insertion (id) order
        self.floor = repo.max_item_id(self.session)  # rows above it were inserted by this import
        self.now = utcnow()

        def read(n: int, line: int | None, record: object) -> tuple:
            self.read = n
            where = f"{self.unit} {line}" if line is not None else f"item {n}"
            parsed = self._parse(where, record)
            return () if parsed is None else ((where, line, *parsed),)

        in_batches(records, read, self._store, self.problems)
        if self.problems:
            raise ValidationFailed(self.problems)
        if not self.read:
            raise ValidationFailed("the file holds no items")
        result = {"project_id": self.project.id, "imported": self.imported, "skipped_existing": self.skipped,
                  "with_gold": self.with_gold, "awaiting_candidates": self.awaiting}
        from .jobs import GENERATE_CANDIDATES, JUDGE_ITEMS, SPLIT_CLAIMS, enqueue

        if self.awaiting:
            kind = SPLIT_CLAIMS if self.splitter else GENERATE_CANDIDATES
            result["job_id"] = enqueue(self.session, kind, project_id=self.project.id, debounce=True)
        elif self.screened and self.imported:
            result["job_id"] = enqueue(self.session, JUDGE_ITEMS, project_id=self.project.id,
                                       payload={"model": (self.project.models or {})["judge_first"]["model"]})
        return result

    def _parse(self, where: str, record: object) -> tuple[ItemSpec, str] | None:
        """The item and its payload as JSON text, or None after recording its problems."""
        if isinstance(record, Problem):
            self.problems.append(record)
            return None
        # One C-speed serialisation of what is stored stands in for the walk over every value.
        fields: dict = record if isinstance(record, dict) else {}
        payload = {k: v for k, v in fields.items() if k not in CONTROL_FIELDS} if isinstance(record, dict) else None
        body = storable_json(payload) if payload is not None else None
        checked = body is not None and all(
            v is None or isinstance(v, (str, int)) or storable_json(v) is not None  # str, int: parse_item checks
            for v in (fields.get("gold"), fields.get("metadata"), fields.get("external_id")))
        try:
            if self.candidates and isinstance(record, dict) and record.get("responses") is None:
                # checked as if its candidate answers were there; stored without them
                spec = self._without(record, "responses", [{"text": "(candidate to be generated)"}]
                                     * self.candidates["per_item"], checked)
            elif self.splitter and isinstance(record, dict) and record.get("claims") is None:
                spec = self._without(record, "claims", ["(claims to be split)"], checked)
            else:
                spec = parse_item(record, self.task_type, self.project.options, json_checked=checked)
        except ValidationFailed as exc:
            self.problems += exc.prefixed(where).problems
            return None
        if body is None or spec.payload != payload:
            body = _dumps(spec.payload)
        size = len(body.encode("utf-8", "surrogatepass")) + (item_size(spec.metadata) if spec.metadata else 0)
        if size > self.max_item_bytes:
            self.problems.append(Problem(where, f"is {size:,} bytes of JSON; an item may hold at most "
                                                f"{self.max_item_bytes:,} (EXPERTLOOP_MAX_ITEM_BYTES)"))
            return None
        return spec, body

    def _without(self, record: dict, field: str, placeholder: list, checked: bool) -> ItemSpec:
        """An item a model completes (its candidate answers, its claims), checked with a
        placeholder for the part the model writes, and stored without it."""
        spec = parse_item({**record, field: placeholder}, self.task_type, self.project.options, json_checked=checked)
        return replace(spec, payload={k: v for k, v in spec.payload.items() if k != field})

    def _waits_for(self, spec: ItemSpec) -> str | None:
        """What a new item waits for before experts may lease it (None: nothing)."""
        if (self.candidates or self.splitter) and "responses" not in spec.payload and "claims" not in spec.payload:
            return PENDING
        return SCREENING if self.screened else None

    def _store(self, batch: list[tuple[str, int | None, ItemSpec, str]]) -> None:
        if batch:
            self._insert(batch)
        if self.progress:
            self.progress("import", self.read)

    def _insert(self, batch: list[tuple[str, int | None, ItemSpec, str]]) -> None:
        in_batch: dict[str, tuple[int, int | None]] = {}  # external id -> (first index, its line)
        for i, (where, _line, spec, _text) in enumerate(batch):
            if spec.external_id is not None:
                if spec.external_id in in_batch:
                    self._repeat(where, spec.external_id, in_batch[spec.external_id][1])
                in_batch.setdefault(spec.external_id, (i, _line))
        present = repo.external_ids_present(self.session, self.project.id, list(in_batch))
        rows = []
        for i, (where, line, spec, body) in enumerate(batch):
            eid = spec.external_id
            if eid is not None:
                if in_batch[eid][0] != i:  # a repeat within the batch, reported above
                    continue
                if eid in present:
                    if present[eid] > self.floor:  # stored by an earlier batch of this import
                        self._repeat(where, eid, self._line_of(present[eid]))
                    else:
                        self.skipped += 1
                    continue
            rows.append((self._waits_for(spec), (eid, spec.priority, body, _json_or_none(spec.gold),
                                                 _json_or_none(spec.metadata))))
            self.lines.append(-1 if line is None else line)
            self.with_gold += spec.gold is not None
        # Runs of rows in insertion order (lines follow ids): an item waiting for models has no
        # slot to lease (target_overlap 0) and says what it waits for.
        start = 0
        while start < len(rows):
            waits = rows[start][0]
            end = start
            while end < len(rows) and rows[end][0] == waits:
                end += 1
            run = [r for _, r in rows[start:end]]
            if waits is None:
                repo.insert_items(self.session, self.project.id, self.target, self.now, run)
            else:
                before = repo.max_item_id(self.session)
                repo.insert_items(self.session, self.project.id, 0, self.now, run)
                self.session.execute(update(Item).where(Item.project_id == self.project.id, Item.id > before,
                                                        Item.target_overlap == 0, Item.generation.is_(None))
                                     .values(generation=waits))
                self.awaiting += len(run) if waits == PENDING else 0
            start = end
        self.imported += len(rows)

    def _repeat(self, where: str, external_id: str, first: int | None) -> None:
        self.problems.append(Problem(f"{where}: external_id", f"{external_id!r} repeats "
                                     + (f"{self.unit} {first}" if first is not None and first >= 0
                                        else f"an earlier {self.unit}")))

    def _line_of(self, item_id: int) -> int | None:
        position = repo.count_items_between(self.session, self.project.id, self.floor, item_id)
        return self.lines[position] if position < len(self.lines) else None


def in_batches(records: Iterable[tuple[int | None, Any]], read: Callable[[int, int | None, Any], Iterable[Any]],
               store: Callable[[list], None], problems: list[Problem], *, size: int = BATCH,
               max_problems: int = MAX_PROBLEMS) -> int:
    """The loop of every streamed import (items, judgments): ``read(n, line, record)`` turns the
    n-th record into the entries it contributes (recording what is wrong with it in
    ``problems``); ``store(batch)`` writes each batch of ``size`` entries, and the last one,
    possibly empty. Reading stops once ``max_problems`` problems are found (nothing more is
    stored then). Returns how many records were read."""
    batch: list = []
    n = 0
    for line, record in records:
        n += 1
        batch.extend(read(n, line, record))
        if len(batch) >= size:
            store(batch)
            batch = []
        if len(problems) >= max_problems:
            problems.append(Problem("", f"stopped after {max_problems} problems"))
            return n
    store(batch)
    return n


def _json_or_none(value: object) -> str | None:
    return None if value is None else _dumps(value)


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
