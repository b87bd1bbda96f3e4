"""Queries. Functions take a Session and return rows; none of them commits.

List and count queries name their columns and never load item payloads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import (
    BigInteger,
    BindParameter,
    CompoundSelect,
    CursorResult,
    Select,
    String,
    Text,
    UnaryExpression,
    Update,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from ..domain.assignments import DONE_STATES, SEEN_STATES, AssignmentState
from .db import is_sqlite
from .orm import ApiToken, Assignment, AuthenticityCheck, Consent, Expert, Item, LedgerEntry, Project, ProjectSpend

_LEASED = AssignmentState.leased.value
_DONE = [s.value for s in DONE_STATES]
_SEEN = [s.value for s in SEEN_STATES]
MAX_IN_IDS = 500  # ids sent in one IN (...) list by queries over many projects


# Live leases are read through the partial index of leased rows (``ix_assignments_leased``):
# where nearly every row is submitted, SQLite's statistics say no other index narrows anything
# and it scanned the table. The state is written into the SQL rather than bound, so that the
# planner can prove the index's condition before any value is bound, whatever the build.
_IS_LEASED = Assignment.state == literal_column(f"'{_LEASED}'")


# Items nobody has judged yet and that hold no gold (what a forecast has left to do), spelled
# as the partial index ``ix_items_unjudged`` is, so that its count reads that index alone.
UNJUDGED_NON_GOLD = (Item.done_count == literal_column("0"), Item.gold.is_(None))


def live_lease_filter(now: datetime | BindParameter[datetime]):
    return and_(_IS_LEASED, Assignment.lease_expires_at > now)


# -- the claim ----------------------------------------------------------------------------------
# The lease and submit run many times a second; building a statement (coercing every operand,
# then computing its cache key) costs SQLAlchemy more than running it. The statements of that
# path are built once, with bind parameters, and reused (``functools.cache``).
def next_candidate_item(session: Session, project_id: int, expert_id: int, now: datetime,
                        *, skip_locked: bool, wait_locked: bool = False, exclude: Sequence[int] = (),
                        gold: bool | None = None,
                        tiers: Sequence[str] | None = None, doubt_first: bool = False) -> int | None:
    """The best item this expert may take: open slots, not seen by them, priority then age.

    ``gold=True`` draws from the gold pool (no slot limit, random order so that gold cannot be
    recognised by its position); ``gold=False`` leaves gold items out. ``tiers`` keeps items
    routed to a tier for experts of that tier. ``doubt_first`` serves started items first.

    On PostgreSQL the row is locked ``FOR UPDATE SKIP LOCKED`` so concurrent claimers move on
    to the next item instead of queueing; the caller re-checks the slot count under the lock.
    ``wait_locked`` locks with a plain ``FOR UPDATE`` instead, waiting for the current holder.
    """
    lock = "skip" if skip_locked else "wait" if wait_locked else None
    stmt = _candidate_statement(gold, tiers is not None, doubt_first, bool(exclude), lock)
    params: dict[str, Any] = {"project_id": project_id, "expert_id": expert_id, "now": now}
    if tiers is not None:
        params["tiers"] = list(tiers)
    if exclude:
        params["exclude"] = list(exclude)
    return session.execute(stmt, params).scalar_one_or_none()


@functools.cache
def _candidate_statement(gold: bool | None, tiers: bool, doubt_first: bool, exclude: bool,
                         lock: str | None) -> Select:
    now: BindParameter[datetime] = bindparam("now")
    live = (select(func.count()).select_from(Assignment)
            .where(Assignment.item_id == Item.id, live_lease_filter(now))
            .scalar_subquery())
    # "Not seen by me" is probed per candidate through ix_assignments_expert_item (expert, item).
    # The OFFSET 0 (PostgreSQL's planner fence) keeps it from becoming an anti-join, which with
    # statistics that miss this expert's history (taken before it grew) reads all of that history
    # for every candidate.
    mine = (select(Assignment.id).where(Assignment.item_id == Item.id, Assignment.expert_id == bindparam("expert_id"),
                                        or_(Assignment.state.in_(_SEEN), live_lease_filter(now)))
            .offset(0).exists())
    stmt = select(Item.id).where(Item.project_id == bindparam("project_id"), Item.retired_at.is_(None), ~mine)
    if gold:
        # An item still waiting for models (target_overlap 0) is no gold question yet.
        stmt = stmt.where(Item.gold.is_not(None), Item.target_overlap > 0).order_by(func.random())
    else:
        # ``done_count < target_overlap`` is the predicate of the partial index ix_items_claim,
        # written as in the index so that both databases match it.
        stmt = stmt.where(Item.done_count < Item.target_overlap, Item.done_count + live < Item.target_overlap)
        if gold is False:
            stmt = stmt.where(Item.gold.is_(None))
        order: list[UnaryExpression[Any]] = [Item.priority.desc()]
        if doubt_first:
            order.append((Item.done_count > 0).desc())
        stmt = stmt.order_by(*order, Item.id.asc())
    if tiers:
        stmt = stmt.where(or_(Item.required_tier.is_(None), Item.required_tier.in_(bindparam("tiers", expanding=True))))
    stmt = stmt.limit(1)
    if exclude:
        stmt = stmt.where(Item.id.not_in(bindparam("exclude", expanding=True)))
    if lock == "skip":
        stmt = stmt.with_for_update(skip_locked=True, of=Item)
    elif lock == "wait":
        stmt = stmt.with_for_update(of=Item)
    return stmt


def held_lease(session: Session, project_id: int, expert_id: int, now: datetime) -> Assignment | None:
    """The expert's live lease in the project, if any."""
    return session.execute(_held_statement(), {"project_id": project_id, "expert_id": expert_id,
                                               "now": now}).scalar_one_or_none()


@functools.cache
def _held_statement() -> Select:
    return select(Assignment).where(Assignment.project_id == bindparam("project_id"),
                                    Assignment.expert_id == bindparam("expert_id"),
                                    live_lease_filter(bindparam("now"))).limit(1)


def close_old_leases(session: Session, item_id: int, expert_id: int) -> None:
    """Mark the expert's earlier (lapsed) leases on an item expired, so only one can be submitted."""
    session.execute(_close_old_statement(), {"old_item_id": item_id, "old_expert_id": expert_id},
                    execution_options={"synchronize_session": False})


@functools.cache
def _close_old_statement() -> Update:
    return update(Assignment).where(
        Assignment.item_id == bindparam("old_item_id"), Assignment.expert_id == bindparam("old_expert_id"),
        Assignment.state == _LEASED).values(state=AssignmentState.expired.value)


def open_slots(session: Session, item_id: int, now: datetime, *, except_assignment: int | None = None) -> int:
    """Slots still free on an item: its target overlap minus done minus other live leases."""
    row = session.execute(_open_slots_statement(), {"slot_item_id": item_id, "now": now,
                                                    "except_id": except_assignment or 0}).one()
    return row[0] - row[1] - row[2]


@functools.cache
def _open_slots_statement() -> Select:
    """(target, done, other live leases) of an item in one statement (assignment ids start at 1,
    so ``except_id`` 0 excepts none)."""
    live = (select(func.count()).select_from(Assignment)
            .where(Assignment.item_id == bindparam("slot_item_id"), live_lease_filter(bindparam("now")),
                   Assignment.id != bindparam("except_id")).scalar_subquery())
    return select(Item.target_overlap, Item.done_count, live).where(Item.id == bindparam("slot_item_id"))


def claim_recheck(session: Session, item_id: int, expert_id: int, now: datetime) -> tuple[int, bool]:
    """The re-check of a claimed candidate under its row lock, in one statement: the item's
    open slots (as :func:`open_slots`) and whether the expert has seen it or holds a live lease
    on it (as :func:`expert_has_item`)."""
    row = session.execute(_recheck_statement(), {"slot_item_id": item_id, "now": now, "except_id": 0,
                                                 "has_item_id": item_id, "has_expert_id": expert_id}).one()
    return row[0] - row[1] - row[2], row[3] is not None


@functools.cache
def _recheck_statement() -> Select:
    return _open_slots_statement().add_columns(_has_item_statement().scalar_subquery())


def expert_has_item(session: Session, item_id: int, expert_id: int, now: datetime) -> bool:
    return session.execute(_has_item_statement(), {"has_item_id": item_id, "has_expert_id": expert_id,
                                                   "now": now}).first() is not None


@functools.cache
def _has_item_statement() -> Select:
    return select(Assignment.id).where(
        Assignment.item_id == bindparam("has_item_id"), Assignment.expert_id == bindparam("has_expert_id"),
        or_(Assignment.state.in_(_SEEN), live_lease_filter(bindparam("now")))).limit(1)


def lock_item(session: Session, item_id: int) -> None:
    """Serialise writers on one item (PostgreSQL row lock; SQLite already holds the DB lock)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_lock_item_statement(), {"lock_item_id": item_id})


@functools.cache
def _lock_item_statement() -> Select:
    return select(Item.id).where(Item.id == bindparam("lock_item_id")).with_for_update()


def lock_project(session: Session, project_id: int) -> None:
    """Take the project's row lock (PostgreSQL ``FOR UPDATE``; SQLite already holds the DB lock):
    it waits for, and then excludes, every other holder of the row, shared holders included."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_lock_project_statement(False), {"project_id": project_id})


def share_project(session: Session, project_id: int) -> None:
    """Take a shared lock on the project's row (PostgreSQL ``FOR KEY SHARE``): any number of
    transactions hold it together, and :func:`lock_project` waits until they have all ended."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_lock_project_statement(True), {"project_id": project_id})


@functools.cache
def _lock_project_statement(shared: bool) -> Select:
    return select(Project.id).where(Project.id == bindparam("project_id")).with_for_update(
        read=shared, key_share=shared)


def concurrent_transactions_bound(session: Session) -> int:
    """At most how many transactions can be open on the database at once: PostgreSQL's
    ``max_connections`` plus ``max_prepared_transactions`` (read once per server address and
    process; both change only with a restart), 1 for SQLite (one writer at a time)."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return 1
    key = bind.engine.url.render_as_string(hide_password=True)
    if (bound := _MAX_CONNECTIONS.get(key)) is None:
        bound = _MAX_CONNECTIONS[key] = int(session.execute(text(
            "SELECT current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int"
        )).scalar_one())
    return bound


_MAX_CONNECTIONS: dict[str, int] = {}


def bump_done(session: Session, item_id: int, delta: int) -> None:
    session.execute(update(Item).where(Item.id == item_id)
                    .values(done_count=Item.done_count + delta))


# -- money --------------------------------------------------------------------------------------
def project_spent_cents(session: Session, project_id: int) -> int:
    return int(session.execute(_spent_statement(), {"project_id": project_id}).scalar_one())


@functools.cache
def _spent_statement() -> Select:
    """The project's spend as the ledger's triggers keep it (``project_spend``): one row read,
    however long the ledger. No row yet: nothing spent."""
    spent = select(ProjectSpend.spent_cents).where(ProjectSpend.project_id == bindparam("project_id"))
    return select(func.coalesce(spent.scalar_subquery(), 0))


def budget_standing(session: Session, project_id: int, now: datetime) -> tuple[int, dict[int, int], int]:
    """What a budget check reads, in one statement: the project's spend, its live leases counted
    by the hourly rate (cents) of the expert behind each, and the highest expert rate there is
    (what any concurrent claim could reserve at most)."""
    spent, highest, rates = 0, 0, {}
    for kind, value, n in session.execute(_standing_statement(), {"project_id": project_id, "now": now}):
        if kind == 0:
            spent = int(value or 0)
        elif kind == 1:
            highest = int(value or 0)
        else:
            rates[int(value)] = int(n)
    return spent, rates, highest


@functools.cache
def _standing_statement() -> CompoundSelect:
    spent = select(ProjectSpend.spent_cents).where(ProjectSpend.project_id == bindparam("project_id"))
    zero = literal(0, BigInteger)
    return union_all(
        select(literal(0), func.coalesce(spent.scalar_subquery(), zero), zero),
        select(literal(1), func.coalesce(select(func.max(Expert.hourly_rate_cents)).scalar_subquery(), zero), zero),
        select(literal(2), Expert.hourly_rate_cents, func.count()).join(Assignment, Assignment.expert_id == Expert.id)
        .where(Assignment.project_id == bindparam("project_id"), live_lease_filter(bindparam("now")))
        .group_by(Expert.hourly_rate_cents))


def expert_ledger(session: Session, expert_id: int) -> list[LedgerEntry]:
    q = (select(LedgerEntry).where(LedgerEntry.expert_id == expert_id)
         .order_by(LedgerEntry.created_at, LedgerEntry.id))
    return list(session.execute(q).scalars())


# -- progress -----------------------------------------------------------------------------------
def project_progress(session: Session, project: Project, now: datetime) -> dict:
    """Item and judgment counts of one project (see :func:`progress_by_project`)."""
    return progress_by_project(session, [project.id], now)[project.id]


def lease_counts(session: Session, project_ids: Sequence[int] | None, now: datetime) -> dict[int, dict]:
    """``{project_id: {"items_in_progress", "live_leases"}}`` for projects with live leases: a
    short read of the leases alone, however large the projects."""
    q = (select(Assignment.project_id, func.count(func.distinct(Assignment.item_id)), func.count())
         .where(live_lease_filter(now)).group_by(Assignment.project_id))
    if project_ids is not None and len(project_ids) <= MAX_IN_IDS:
        q = q.where(Assignment.project_id.in_(list(project_ids)))
    return {pid: {"items_in_progress": items_leased, "live_leases": live}
            for pid, items_leased, live in session.execute(q)}


def progress_by_project(session: Session, project_ids: Sequence[int] | None, now: datetime) -> dict[int, dict]:
    """Item and judgment counts per project, without loading a single payload: three grouped
    queries however many projects (``None``: every project), each answered from an index.

    ``judgments`` are counted judgments (:func:`counted_judgment`), ``pending_review`` those still
    ``submitted`` (the review queue); ``assignments_by_state``
    is a census of every assignment row, withdrawn and rejected work included. Retired items
    are not among the items (they are kept for the record only)."""
    ids = None if project_ids is None else list(project_ids)

    def scoped(q, column):  # a long id list is not sent: counting every project is as quick
        return q if ids is None or len(ids) > MAX_IN_IDS else q.where(column.in_(ids))

    out: dict[int, dict] = {}
    for pid in ids if ids is not None else session.execute(select(Project.id)).scalars():
        out[pid] = {"items": 0, "items_complete": 0, "items_in_progress": 0, "items_remaining": 0,
                    "judgments": 0, "judgments_needed": 0, "live_leases": 0, "pending_review": 0,
                    "assignments_by_state": {s.value: 0 for s in AssignmentState}}
    if not out:
        return out
    # An item waiting for models (candidate answers, a screening judge: target_overlap 0) has not
    # begun; one the screening judge decided ("judged") needs no expert and is complete.
    complete = func.sum(case((and_(Item.done_count >= Item.target_overlap,
                                   or_(Item.target_overlap > 0, Item.generation == "judged")), 1), else_=0))
    for pid, n_items, n_complete, needed in session.execute(scoped(
            select(Item.project_id, func.count(), complete, func.coalesce(func.sum(Item.target_overlap), 0))
            .where(Item.retired_at.is_(None)), Item.project_id).group_by(Item.project_id)):
        if (row := out.get(pid)) is None:  # a project made since the first query
            continue
        row.update(items=n_items, items_complete=int(n_complete or 0), judgments_needed=int(needed or 0),
                   items_remaining=n_items - int(n_complete or 0))
    for pid, leases in lease_counts(session, ids, now).items():
        if pid in out:
            out[pid].update(leases)
    # The census by state and the counted judgments in one pass over the covering index; the
    # consent test per row only where some expert withdrew (rare; it costs half the pass again).
    withdrawn = scoped(select(Consent.id).where(Consent.withdrawn_at.is_not(None)), Consent.project_id)
    standing = (func.sum(case((consent_stands(), 1), else_=0)) if session.execute(withdrawn.limit(1)).first()
                else func.count())
    for pid, state, n, n_standing in session.execute(scoped(
            select(Assignment.project_id, Assignment.state, func.count(), standing), Assignment.project_id)
            .group_by(Assignment.project_id, Assignment.state)):
        if pid not in out:
            continue
        if state in out[pid]["assignments_by_state"]:
            out[pid]["assignments_by_state"][state] = n
        if state in _DONE:  # counted_judgment(): done, under a consent that stands
            out[pid]["judgments"] += int(n_standing or 0)
        if state == AssignmentState.submitted.value:  # counted and not reviewed yet: the review queue
            out[pid]["pending_review"] = int(n_standing or 0)
    return out


# -- lookups ------------------------------------------------------------------------------------
def external_ids_present(session: Session, project_id: int, ids: Sequence[str]) -> dict[str, int]:
    """Of ``ids``, those the project holds, with their item id: one lookup in
    ``uq_items_project_external_id`` per id, however large the project.

    On PostgreSQL each id is looked up by a subquery on both columns of the unique index, a
    plan that needs no statistics. ``external_id IN (...)`` was planned from what the planner
    knew: within one import the table grows from nothing, its statistics say empty, the
    prepared statement's generic plan was a sequential scan, and each batch of a 200,000-item
    import ended up scanning the project (5 s a batch; 542 s for the import).
    """
    if not ids:
        return {}
    if not is_sqlite(session):
        rows = session.execute(_EXTERNAL_IDS_PRESENT_PG, {"p": project_id, "ids": list(ids)})
        return {eid: item_id for eid, item_id in rows if item_id is not None}
    q = select(Item.external_id, Item.id).where(Item.project_id == project_id, Item.external_id.in_(list(ids)))
    return {eid: item_id for eid, item_id in session.execute(q) if eid is not None}


_EXTERNAL_IDS_PRESENT_PG = text(
    "SELECT e.eid, (SELECT i.id FROM items i WHERE i.project_id = :p AND i.external_id = e.eid) "
    "FROM unnest(CAST(:ids AS varchar[])) AS e(eid)")


def items_by_external_id(session: Session, project_id: int, ids: Sequence[str]) -> dict[str, tuple[int, dict]]:
    """Of ``ids``, the project's items: external id -> (item id, payload). One lookup in
    ``uq_items_project_external_id`` per id on PostgreSQL, whatever the statistics say (see
    :func:`external_ids_present`)."""
    if not ids:
        return {}
    if not is_sqlite(session):
        rows = session.execute(_ITEMS_BY_EXTERNAL_ID_PG, {"p": project_id, "ids": list(ids)})
    else:
        rows = session.execute(select(Item.external_id, Item.id, Item.payload).where(
            Item.project_id == project_id, Item.external_id.in_(list(ids))))
    return {eid: (item_id, payload) for eid, item_id, payload in rows}


# OFFSET 0 keeps the lateral subquery from being flattened into a join the planner may then
# run as a scan of the project: as written it is an index lookup per id.
_ITEMS_BY_EXTERNAL_ID_PG = text(
    "SELECT i.external_id, i.id, i.payload FROM unnest(CAST(:ids AS varchar[])) AS e(eid) "
    "CROSS JOIN LATERAL (SELECT external_id, id, payload FROM items "
    "WHERE project_id = :p AND external_id = e.eid OFFSET 0) AS i").columns(
    external_id=String, id=BigInteger, payload=Item.__table__.c.payload.type)


def work_on_items(session: Session, item_ids: Sequence[int], states: Sequence[str]) -> list[tuple[int, int, int]]:
    """(item id, expert id, assignment id) of the assignments in ``states`` on ``item_ids``: an
    index lookup (``ix_assignments_item_state``) per item on PostgreSQL, whatever the
    statistics say (see :func:`external_ids_present`)."""
    if not item_ids:
        return []
    if not is_sqlite(session):
        rows = session.execute(_WORK_ON_ITEMS_PG, {"items": list(item_ids), "states": list(states)})
    else:
        rows = session.execute(select(Assignment.item_id, Assignment.expert_id, Assignment.id).where(
            Assignment.item_id.in_(list(item_ids)), Assignment.state.in_(list(states))))
    return [(i, e, a) for i, e, a in rows]


_WORK_ON_ITEMS_PG = text(
    "SELECT a.item_id, a.expert_id, a.id FROM unnest(CAST(:items AS integer[])) AS e(iid) "
    "CROSS JOIN LATERAL (SELECT item_id, expert_id, id FROM assignments "
    "WHERE item_id = e.iid AND state = ANY(CAST(:states AS varchar[])) OFFSET 0) AS a")


def count_items_between(session: Session, project_id: int, after_id: int, before_id: int) -> int:
    """Items of a project with ``after_id < id < before_id``."""
    return session.execute(select(func.count()).select_from(Item).where(
        Item.project_id == project_id, Item.id > after_id, Item.id < before_id)).scalar_one()


def max_item_id(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(Item.id), 0))).scalar_one()


ITEM_COLUMNS = ("external_id", "priority", "payload", "gold", "metadata")


def insert_items(session: Session, project_id: int, target_overlap: int, created_at: datetime,
                 rows: Sequence[tuple]) -> None:
    """Insert new items in bulk: ``rows`` are tuples in :data:`ITEM_COLUMNS` order with the JSON
    columns as JSON text. SQLite gets one prepared ``executemany``; PostgreSQL a ``COPY`` (the
    fastest way in; JSONB parses the text). Both run in the caller's unit of work."""
    if not rows:
        return
    conn = session.connection()
    columns = ", ".join((*ITEM_COLUMNS, "project_id", "done_count", "target_overlap", "created_at"))
    stamp = created_at.astimezone(UTC).replace(tzinfo=None)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY items ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, project_id, 0, target_overlap, stamp))
        return
    text_stamp = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME text
    marks = ", ".join("?" for _ in range(len(ITEM_COLUMNS) + 4))
    conn.exec_driver_sql(f"INSERT INTO items ({columns}) VALUES ({marks})",
                         [(*row, project_id, 0, target_overlap, text_stamp) for row in rows])


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash,
                                                  ApiToken.revoked_at.is_(None))).scalar_one_or_none()


def token_identity(session: Session, token_hash: str) -> tuple[int, str, int | None] | None:
    """(id, role, expert id) of a live token: what every request reads, in one prebuilt query."""
    row = session.execute(_token_identity_statement(), {"token_hash": token_hash}).first()
    return None if row is None else (row[0], row[1], row[2])


@functools.cache
def _token_identity_statement() -> Select:
    return select(ApiToken.id, ApiToken.role, ApiToken.expert_id).where(
        ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))


def release_live_leases(session: Session, project_id: int, expert_id: int) -> int:
    """Release every live lease of an expert in a project (paused, or consent withdrawn); how many."""
    result = session.execute(update(Assignment).where(
        Assignment.project_id == project_id, Assignment.expert_id == expert_id,
        Assignment.state == _LEASED).values(state=AssignmentState.released.value))
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult


def consent_stands():
    """Assignments whose consent (if any covers them) has not been withdrawn. Part of
    :func:`counted_judgment`; on its own it also keeps withdrawn work out of review outcomes."""
    withdrawn = select(Consent.id).where(Consent.withdrawn_at.is_not(None))
    return or_(Assignment.consent_id.is_(None), Assignment.consent_id.not_in(withdrawn))


def counted_judgment():
    """THE definition of a judgment that counts, as a filter on ``Assignment`` (no join needed).

    A judgment counts when

    - it is done: ``submitted`` or ``accepted`` (an edit by a reviewer is ``accepted``);
    - a reviewer has not rejected it (``rejected`` is a state of its own, so the first rule
      already leaves it out; rejected work reopens its slot and is redone by someone else);
    - the consent it was done under stands (see :func:`consent_stands`): work of an expert who
      withdrew, including work done before the project had terms, is out;
    - it is not a blind re-test: a submitted re-test is ``retested``, a state of its own, so the
      first rule leaves it out (never counted, exported or reviewed twice).

    Every reader that turns judgments into a decision or a figure uses it: consensus fits,
    the quality report (scorecards, agreement, bias, groups), adaptive overlap, the quality
    floor's gold record, the adaptive gold rate, typical task time, fact-check escalation,
    dashboards' judgment counts, progress, the review queue (counted and still ``submitted``)
    and exports. The pay ledger is not a reader: time worked stays paid.
    """
    return and_(Assignment.state.in_(_DONE), consent_stands())


def iter_done_assignments(session: Session, project_id: int, batch: int = 500
                          ) -> Iterator[tuple[Assignment, Item, int | None]]:
    """Counted judgments (:func:`counted_judgment`) of items not retired, with their item and the
    terms version they were done under, oldest first, streamed in batches."""
    q = (select(Assignment, Item, Consent.terms_version).join(Item, Item.id == Assignment.item_id)
         .outerjoin(Consent, Consent.id == Assignment.consent_id)
         .where(Assignment.project_id == project_id, counted_judgment(), Item.retired_at.is_(None))
         .order_by(Assignment.submitted_at, Assignment.id)
         .execution_options(yield_per=batch))
    for row in session.execute(q):
        yield row[0], row[1], row[2]


class JudgmentRow(NamedTuple):
    """One counted judgment as an export reads it (:func:`iter_judgments_by_item`)."""

    id: int
    item_id: int
    expert_id: int
    state: str
    submitted_at: datetime | None
    guidelines_version: int
    presentation: Any
    response: Any
    active_seconds: float
    reviewed_by: int | None
    original_response: Any
    experiment_id: int | None
    experiment_arm: str | None
    ai_assistance: Any
    external_id: str | None
    payload: Any
    gold: Any
    terms_version: int | None
    check_status: str | None  # the judgment's authenticity check (None: it has none)
    check_signals: Any
    check_similarity: Any
    check_reasons: Any


def _aware(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (:class:`~.orm.UTCDateTime`): SQLite hands
    back its text, PostgreSQL a naive datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) in (19, 26):  # "YYYY-MM-DD HH:MM:SS[.ffffff]": naive, as stored; parsed aware at once
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _loads(text: str) -> Any:
    """A stored JSON column's value: ``orjson`` first (several times faster than ``json``; a
    million-record export decodes a few million values), ``json.loads`` for what orjson refuses
    but the standard library reads (``NaN``, an escaped unpaired surrogate). Both give the same
    values for what is stored: every input is checked to hold integers within 64 bits
    (:func:`~expertloop.domain.checks.json_problems`), which orjson reads exactly."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def iter_judgments_by_item(session: Session, project_id: int, batch: int = 10_000) -> Iterator[JudgmentRow]:
    """Counted judgments (:func:`counted_judgment`) as plain rows, item by item (in item id
    order, each item's oldest first), streamed from a server-side cursor: what an export reads.

    Each :class:`JudgmentRow` has the assignment's columns, the item's ``external_id``,
    ``payload`` and ``gold``, ``terms_version``, and its authenticity check's ``status``,
    ``signals``, ``similarity`` and ``reasons`` (``check_*``; None without one). No ORM objects and no per-value type
    processing: JSON columns come as text and are decoded here once each (:func:`_loads`)
    (an item's payload and gold once per item, shared by its judgments), timestamps are made
    aware in one step, so a million rows stream at close to driver speed."""
    q = (select(Assignment.id, Assignment.item_id, Assignment.expert_id, Assignment.state,
                type_coerce(Assignment.submitted_at, String), Assignment.guidelines_version,
                sa_cast(Assignment.presentation, Text), sa_cast(Assignment.response, Text), Assignment.active_seconds,
                Assignment.reviewed_by, sa_cast(Assignment.original_response, Text), Assignment.experiment_id,
                Assignment.experiment_arm, sa_cast(Assignment.ai_assistance, Text), Item.external_id,
                sa_cast(Item.payload, Text), sa_cast(Item.gold, Text), Consent.terms_version,
                AuthenticityCheck.status, sa_cast(AuthenticityCheck.signals, Text),
                sa_cast(AuthenticityCheck.similarity, Text), sa_cast(AuthenticityCheck.reasons, Text))
         .join(Item, Item.id == Assignment.item_id)
         .outerjoin(Consent, Consent.id == Assignment.consent_id)
         .outerjoin(AuthenticityCheck, AuthenticityCheck.assignment_id == Assignment.id)
         .where(Item.project_id == project_id, Assignment.project_id == project_id, counted_judgment(),
                Item.retired_at.is_(None))  # a retired item is kept for the record, out of exports
         .order_by(Item.id, Assignment.id)
         .execution_options(stream_results=True, yield_per=batch))
    result = session.connection().execute(q)
    loads, aware, row_type = _loads, _aware, JudgmentRow
    last_item, payload, gold = None, None, None
    for (aid, item_id, expert_id, state, submitted_at, guidelines_version, presentation, response, active_seconds,
         reviewed_by, original_response, experiment_id, experiment_arm, ai_assistance, external_id, payload_text,
         gold_text, terms_version, check_status, signals, similarity, reasons) in result:
        if item_id != last_item:
            last_item = item_id
            payload = None if payload_text is None else loads(payload_text)
            gold = None if gold_text is None else loads(gold_text)
        yield row_type(aid, item_id, expert_id, state, aware(submitted_at), guidelines_version,
                       None if presentation is None else loads(presentation),
                       None if response is None else loads(response), active_seconds, reviewed_by,
                       None if original_response is None else loads(original_response), experiment_id,
                       experiment_arm, None if ai_assistance is None else loads(ai_assistance), external_id,
                       payload, gold, terms_version, check_status,
                       None if signals is None else loads(signals), None if similarity is None else loads(similarity),
                       None if reasons is None else loads(reasons))
