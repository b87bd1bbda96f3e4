"""Payroll: pay periods, bonuses and adjustments with their reasons, statements per expert and a
payroll CSV per period.

Every amount is integer cents from the ledger, summed as integers and printed as
``Decimal`` dollars: a statement's lines add up to its total to the cent, and the payroll
CSV's rows to the ledger's. A line of a statement explains itself: the active minutes worked,
the project's cap per task, the minutes paid, the hourly rate, the amount; a bonus or an
adjustment carries the reason staff gave (and is in the audit log).

A pay period covers ledger entries dated ``starts_on`` to ``ends_on`` inclusive (UTC dates).
Periods never overlap, so no entry is paid twice. A closed period takes no more bonuses or
adjustments dated inside it, and its totals never change: an earning recorded on a day a closed
period covers (a submit after an early close) is dated the first instant after that period, so it
lands in the next open one (:func:`booking_time`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..domain.checks import text_problem
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.money import decimal_comma, from_cents, parse_amount, to_cents
from ..domain.policies import Actor, can_read_expert, require_staff
from ..storage.db import is_sqlite
from ..storage.orm import Assignment, Expert, LedgerDay, LedgerEntry, PayPeriod, Project
from . import audit
from .clock import utcnow
from .uow import reads, writes

KINDS = ("bonus", "adjustment")
MAX_REASON = 2000
MAX_PERIOD_DAYS = 366


MAX_CLOSED_HOPS = 1000  # consecutive closed periods an earning may be moved past
CLOSE_LOCK_TIMEOUT_MS = 5000  # PostgreSQL: how long a close waits for the work being written


def _parse_date(value: object, loc: str) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValidationFailed("must be a date written YYYY-MM-DD", loc=loc)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"must be a date written YYYY-MM-DD, got {value[:40]!r}", loc=loc) from None
    if not MIN_DAY <= day <= MAX_DAY:  # a period's end + 1 day must stay a date
        raise ValidationFailed(f"must be between {MIN_DAY} and {MAX_DAY}", loc=loc)
    return day


MIN_DAY, MAX_DAY = date(2000, 1, 1), date(2199, 12, 31)


def _bounds(period: PayPeriod) -> tuple[datetime, datetime]:
    return (datetime.combine(period.starts_on, time(), UTC),
            datetime.combine(period.ends_on + timedelta(days=1), time(), UTC))


def period_view(p: PayPeriod) -> dict:
    return {"id": p.id, "name": p.name, "starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(),
            "closed": p.closed_at is not None, "closed_at": p.closed_at.isoformat() if p.closed_at else None}


@writes
def create_period(session: Session, actor: Actor | None, name: str, starts_on: object, ends_on: object) -> dict:
    """A new pay period; it may not overlap another."""
    if actor is not None:
        require_staff(actor, "manage pay periods")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100 or text_problem(name) is not None:
        raise ValidationFailed("must be a name of 1 to 100 characters", loc="name")
    start, end = _parse_date(starts_on, "starts_on"), _parse_date(ends_on, "ends_on")
    if end < start:
        raise ValidationFailed(f"must be on or after starts_on ({start})", loc="ends_on")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"a period may cover at most {MAX_PERIOD_DAYS} days", loc="ends_on")
    if session.execute(select(PayPeriod.id).where(PayPeriod.name == name)).first() is not None:
        raise Conflict(f"a pay period named {name!r} exists already")
    clash = session.execute(select(PayPeriod).where(PayPeriod.starts_on <= end, PayPeriod.ends_on >= start)
                            .limit(1)).scalar_one_or_none()
    if clash is not None:
        raise Conflict(f"pay period {clash.name!r} ({clash.starts_on} to {clash.ends_on}) overlaps "
                       f"{start} to {end}; periods never overlap, so nothing is paid twice")
    period = PayPeriod(name=name, starts_on=start, ends_on=end)
    session.add(period)
    session.flush()
    audit.record(session, actor, "pay.period_created", target=f"pay_period:{period.id}",
                 detail={"name": name, "starts_on": start.isoformat(), "ends_on": end.isoformat()})
    return period_view(period)


@writes
def close_period(session: Session, actor: Actor | None, period_id: int, *, now: datetime | None = None) -> dict:
    if actor is not None:
        require_staff(actor, "manage pay periods")
    period = _period(session, period_id)
    if period.closed_at is not None:
        raise Conflict(f"pay period {period.name!r} is closed already")
    if not is_sqlite(session):
        # Every submit writes its assignment before it reads the period its earning is booked in
        # (:func:`booking_time`): this lock waits for the submits in flight to commit and holds
        # new ones at their first write until the close commits, so their read sees it. A rare
        # pause of a few milliseconds here, instead of a row lock on the period in every submit.
        # Bounded: behind a long writer every lease would queue behind the close, so after
        # CLOSE_LOCK_TIMEOUT_MS the close gives up and says so. (SQLite: one writer at a time.)
        session.execute(text(f"SET LOCAL lock_timeout = {int(CLOSE_LOCK_TIMEOUT_MS)}"))
        try:
            with session.begin_nested():
                session.execute(text("LOCK TABLE assignments IN SHARE MODE"))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise Conflict(f"pay period {period.name!r} was not closed: work being written at this moment "
                           f"held it for over {CLOSE_LOCK_TIMEOUT_MS / 1000:g} s; try again") from None
        session.execute(text("RESET lock_timeout"))  # the bound was for that lock alone
    period.closed_at = now or utcnow()
    audit.record(session, actor, "pay.period_closed", target=f"pay_period:{period.id}", detail={"name": period.name})
    return period_view(period)


@reads
def list_periods(session: Session, actor: Actor) -> list[dict]:
    """Every period, newest first (trainers too: they pick a statement by period)."""
    return [period_view(p) for p in session.execute(select(PayPeriod).order_by(PayPeriod.starts_on.desc()))
            .scalars()]


def booking_time(session: Session, when: datetime) -> datetime:
    """When an earning recorded at ``when`` is booked: ``when`` itself, unless a closed period
    covers that day — then the first instant after that period (and after any closed period
    following it), so it lands in the next open period and a closed period's totals never change.
    Inside the writer's unit, after it has written its assignment: a close running at the same
    moment waits for that write (:func:`close_period`), and a write after the close sees it. No
    row lock here: every submit would otherwise lock the same period row."""
    for _ in range(MAX_CLOSED_HOPS):
        day = when.date()
        period = session.execute(select(PayPeriod).where(PayPeriod.starts_on <= day, PayPeriod.ends_on >= day)
                                 ).scalar_one_or_none()
        if period is None or period.closed_at is None:
            return when
        when = _bounds(period)[1]
    raise Conflict(f"every pay period from {when.date()} on is closed; open a new period")


def _period(session: Session, period_id: int) -> PayPeriod:
    period = session.get(PayPeriod, period_id)
    if period is None:
        raise NotFound(f"pay period {period_id} not found")
    return period


@writes
def add_entry(session: Session, actor: Actor | None, expert_id: int, kind: str, amount: object, reason: object, *,
              project_id: int | None = None, locale: str | None = None, now: datetime | None = None) -> dict:
    """A bonus (positive) or an adjustment (either sign, not zero) with its reason, in the ledger
    and the audit log. ``amount`` is parsed strictly in the form's declared ``locale``."""
    if actor is not None:
        require_staff(actor, "add bonuses or adjustments")
    if kind not in KINDS:
        raise ValidationFailed(f"must be one of {', '.join(KINDS)}; got {str(kind)[:40]!r}", loc="kind")
    try:
        decimal_comma(locale)
    except ValueError as exc:
        raise ValidationFailed(str(exc), loc="locale") from None
    try:
        value = parse_amount(amount, locale=locale, signed=kind == "adjustment")
    except ValueError as exc:
        raise ValidationFailed(str(exc), loc="amount_usd") from None
    if value == 0 or (kind == "bonus" and value < 0):
        raise ValidationFailed("must be more than 0" if kind == "bonus" else "must not be 0", loc="amount_usd")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed("is required: say why, the expert reads it on their statement", loc="reason")
    if len(text) > MAX_REASON or text_problem(text) is not None:
        raise ValidationFailed(f"must be text of at most {MAX_REASON} characters", loc="reason")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    if project_id is not None and session.get(Project, project_id) is None:
        raise NotFound(f"project {project_id} not found")
    now = now or utcnow()
    # Read under a share lock (a rare path): a close at the same moment waits for this entry, and
    # an entry after the close sees it.
    closed = session.execute(select(PayPeriod).where(PayPeriod.starts_on <= now.date(),
                                                     PayPeriod.ends_on >= now.date())
                             .with_for_update(read=True)).scalar_one_or_none()
    if closed is not None and closed.closed_at is None:
        closed = None
    if closed is not None:
        raise Conflict(f"pay period {closed.name!r} covering {now.date()} is closed")
    entry = LedgerEntry(expert_id=expert_id, project_id=project_id, kind=kind, minutes="0", rate_cents=0,
                        amount_cents=to_cents(value), note=text, created_at=now)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "pay.bonus_added" if kind == "bonus" else "pay.adjusted", project_id=project_id,
                 target=f"expert:{expert_id}", detail={"ledger_entry": entry.id, "amount_usd": str(value),
                                                       "reason": text})
    return {"id": entry.id, "expert_id": expert_id, "project_id": project_id, "kind": kind,
            "amount_usd": str(from_cents(entry.amount_cents)), "reason": text, "created_at": now.isoformat()}


@dataclass(frozen=True)
class StatementLine:
    date: str
    kind: str
    project_id: int | None
    project_name: str | None
    item_id: int | None
    assignment_id: int | None
    active_minutes: Decimal | None
    cap_minutes: int | None
    paid_minutes: Decimal
    capped: bool
    rate_usd: Decimal | None
    amount_cents: int
    reason: str | None

    def as_dict(self) -> dict:
        return {"date": self.date, "kind": self.kind, "project_id": self.project_id,
                "project_name": self.project_name, "item_id": self.item_id, "assignment_id": self.assignment_id,
                "active_minutes": None if self.active_minutes is None else str(self.active_minutes),
                "cap_minutes": self.cap_minutes, "paid_minutes": str(self.paid_minutes), "capped": self.capped,
                "rate_usd": None if self.rate_usd is None else str(self.rate_usd),
                "amount_usd": str(from_cents(self.amount_cents)), "reason": self.reason}


STATEMENT_COLUMNS = ("date", "kind", "project_id", "project_name", "item_id", "assignment_id", "active_minutes",
                     "cap_minutes", "paid_minutes", "capped", "rate_usd", "amount_usd", "reason")


@reads
def statement(session: Session, actor: Actor, expert_id: int, period_id: int) -> dict:
    """One expert's pay in one period, line by line (the expert's own, or staff: anyone's)."""
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own statements")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    period = _period(session, period_id)
    start, end = _bounds(period)
    q = (select(LedgerEntry, Assignment.item_id, Assignment.active_seconds, Project.name,
                Project.max_minutes_per_task)
         .outerjoin(Assignment, Assignment.id == LedgerEntry.assignment_id)
         .outerjoin(Project, Project.id == LedgerEntry.project_id)
         .where(LedgerEntry.expert_id == expert_id, LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
         .order_by(LedgerEntry.created_at, LedgerEntry.id))
    lines: list[StatementLine] = []
    totals = {"earning": 0, "bonus": 0, "adjustment": 0}
    minutes = Decimal(0)
    for entry, item_id, active_seconds, project_name, cap in session.execute(q):
        work = entry.kind == "earning"
        active = (Decimal(str(round(active_seconds, 3))) / 60).quantize(Decimal("0.01")) \
            if work and active_seconds is not None else None
        paid = Decimal(entry.minutes)
        minutes += paid
        lines.append(StatementLine(
            date=entry.created_at.date().isoformat(), kind=entry.kind, project_id=entry.project_id,
            project_name=project_name, item_id=item_id, assignment_id=entry.assignment_id, active_minutes=active,
            cap_minutes=cap if work else None, paid_minutes=paid,
            capped=bool(work and active is not None and cap is not None and active > cap),
            rate_usd=from_cents(entry.rate_cents) if work else None, amount_cents=entry.amount_cents,
            reason=entry.note))
        totals[entry.kind if entry.kind in totals else "adjustment"] += entry.amount_cents
    total = sum(totals.values())
    return {"expert_id": expert.id, "expert_name": expert.name,
            "hourly_rate_usd": str(from_cents(expert.hourly_rate_cents)), "period": period_view(period),
            "lines": [line.as_dict() for line in lines], "tasks": sum(1 for x in lines if x.kind == "earning"),
            "paid_minutes": str(minutes), "earnings_usd": str(from_cents(totals["earning"])),
            "bonuses_usd": str(from_cents(totals["bonus"])), "adjustments_usd": str(from_cents(totals["adjustment"])),
            "total_usd": str(from_cents(total))}


def statement_csv(data: dict) -> str:
    """A statement (from :func:`statement`) as CSV: one row per line, then a total row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STATEMENT_COLUMNS)
    for line in data["lines"]:
        w.writerow(["" if line[c] is None else line[c] for c in STATEMENT_COLUMNS])
    w.writerow(["total", "", "", "", "", "", "", "", data["paid_minutes"], "", "", data["total_usd"], ""])
    return _safe(buf.getvalue())


PAYROLL_COLUMNS = ("expert_id", "name", "email", "tasks", "paid_minutes", "earnings_usd", "bonuses_usd",
                   "adjustments_usd", "total_usd")


@reads
def payroll(session: Session, actor: Actor | None, period_id: int) -> dict:
    """What every expert is owed for a period: one row per expert with ledger entries in it."""
    if actor is not None:
        require_staff(actor, "read payroll")
    period = _period(session, period_id)
    # Summed from the per-day rows the ledger's triggers keep (``ledger_days``): a period is whole
    # UTC days, so the figures are the ledger's own, without reading a month of entries.
    by_kind = {k: func.coalesce(func.sum(LedgerDay.amount_cents).filter(LedgerDay.kind == k), 0)
               for k in ("earning", "bonus", "adjustment")}
    tasks = func.coalesce(func.sum(LedgerDay.entries).filter(LedgerDay.kind == "earning"), 0)
    q = (select(Expert.id, Expert.name, Expert.email, tasks, by_kind["earning"], by_kind["bonus"],
                by_kind["adjustment"], func.coalesce(func.sum(LedgerDay.amount_cents), 0),
                func.coalesce(func.sum(LedgerDay.minutes_hundredths), 0), func.sum(LedgerDay.entries))
         .join(LedgerDay, and_(LedgerDay.expert_id == Expert.id, LedgerDay.day >= period.starts_on,
                               LedgerDay.day <= period.ends_on))
         .group_by(Expert.id, Expert.name, Expert.email).order_by(Expert.id))
    rows = []
    grand = 0
    for eid, name, email, n, earned, bonus, adjusted, total, hundredths, entries in session.execute(q):
        if not entries:  # every entry of that day was deleted: its row stays at zero
            continue
        grand += int(total)
        # two decimals where a task was paid (billable minutes are two-decimal), as summed before
        minutes = Decimal(int(hundredths)).scaleb(-2) if n else Decimal(int(hundredths)) / 100
        rows.append({"expert_id": eid, "name": name, "email": email, "tasks": int(n),
                     "paid_minutes": str(minutes),
                     "earnings_usd": str(from_cents(int(earned))), "bonuses_usd": str(from_cents(int(bonus))),
                     "adjustments_usd": str(from_cents(int(adjusted))), "total_usd": str(from_cents(int(total)))})
    return {"period": period_view(period), "rows": rows, "total_usd": str(from_cents(grand))}


def payroll_csv(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PAYROLL_COLUMNS)
    for row in data["rows"]:
        w.writerow([row[c] for c in PAYROLL_COLUMNS])
    return _safe(buf.getvalue())


def _safe(text: str) -> str:
    """CSV for spreadsheets: a cell starting with = + - @ is a formula there; money cells are
    plain numbers, so only text cells (names, reasons) are neutralised, with a leading quote."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        w.writerow([("'" + c) if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _is_number(c)) else c
                    for c in row])
    return out.getvalue()


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True
