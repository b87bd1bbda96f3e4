"""The payroll sums the per-day rows the ledger's triggers keep (``ledger_days``): whatever
writes, changes or deletes ledger entries, those rows stay equal to the ledger, and so does the
payroll, to the cent and the hundredth of a minute."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select, update

from expertloop.services import payroll, uow
from expertloop.storage.orm import LedgerDay, LedgerEntry
from tests import factories as f
from tests.integration.test_people import _do

T0 = datetime(2026, 5, 4, 23, 59, 50, tzinfo=UTC)  # work that spans midnight: two UTC days


def _ledger_by_day(session) -> dict:
    out: dict = defaultdict(lambda: [0, 0, Decimal(0)])
    for e in session.execute(select(LedgerEntry)).scalars():
        row = out[(e.expert_id, e.created_at.date(), e.kind)]
        row[0] += 1
        row[1] += e.amount_cents
        row[2] += Decimal(e.minutes)
    return {k: (n, cents, int(m * 100)) for k, (n, cents, m) in out.items()}


def _kept(session) -> dict:
    return {(r.expert_id, r.day, r.kind): (r.entries, r.amount_cents, r.minutes_hundredths)
            for r in session.execute(select(LedgerDay)).scalars() if r.entries}


def test_the_days_follow_every_write_and_the_payroll_equals_the_ledger(session):
    p = f.project(session, "label", hourly_rate_usd="61.37")
    f.items(session, p["id"], "label", 6)
    ann, bo = f.expert(session, name="Ann"), f.expert(session, name="Bo")
    may = payroll.create_period(session, f.ADMIN, "2026-05", "2026-05-01", "2026-05-31")
    for k, (who, seconds) in enumerate([(ann, 61.5), (bo, 125.25), (ann, 7), (bo, 3599)]):
        _do(session, who, p["id"], {"label": "yes"}, T0 + timedelta(seconds=5 * k), seconds)
    payroll.add_entry(session, f.ADMIN, bo["id"], "bonus", "12.34", "careful work", project_id=p["id"],
                           now=T0 + timedelta(days=1))
    payroll.add_entry(session, f.ADMIN, ann["id"], "adjustment", "-0.05", "rounding", now=T0)
    with uow.read(session):
        assert _kept(session) == _ledger_by_day(session)
        assert len({day for _e, day, _k in _kept(session)}) == 2           # the 4th and the 5th
    rows = {r["name"]: r for r in payroll.payroll(session, f.ADMIN, may["id"])["rows"]}

    def direct(expert_id):
        with uow.read(session):
            entries = [e for e in session.execute(select(LedgerEntry).where(LedgerEntry.expert_id == expert_id))
                       .scalars()]
        return (str(sum((Decimal(e.minutes) for e in entries), Decimal(0))),
                sum(e.amount_cents for e in entries), sum(e.kind == "earning" for e in entries))

    for name, who in (("Ann", ann), ("Bo", bo)):
        minutes, cents, tasks = direct(who["id"])
        assert (rows[name]["paid_minutes"], rows[name]["tasks"]) == (minutes, tasks)
        assert Decimal(rows[name]["total_usd"]) * 100 == cents

    # Whatever else writes the ledger (a correction by SQL, a deletion): the days follow.
    def rewrite():
        first = session.execute(select(LedgerEntry.id).order_by(LedgerEntry.id)).scalars().first()
        session.execute(update(LedgerEntry).where(LedgerEntry.id == first)
                        .values(amount_cents=LedgerEntry.amount_cents + 7, minutes="9.99",
                                created_at=datetime(2026, 5, 20, 12, 0, tzinfo=UTC)))
        session.execute(delete(LedgerEntry).where(LedgerEntry.kind == "bonus"))

    uow.run_write(session, rewrite)
    with uow.read(session):
        assert _kept(session) == _ledger_by_day(session)
    after = {r["name"]: r for r in payroll.payroll(session, f.ADMIN, may["id"])["rows"]}
    for name, who in (("Ann", ann), ("Bo", bo)):
        minutes, cents, tasks = direct(who["id"])
        assert (after[name]["paid_minutes"], after[name]["tasks"]) == (minutes, tasks)
        assert Decimal(after[name]["total_usd"]) * 100 == cents
    assert after["Bo"]["bonuses_usd"] == "0.00"
