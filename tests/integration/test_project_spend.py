"""A project's spend is kept by the database from its ledger, whoever writes the ledger: the
budget check reads one row instead of summing every payment of the project."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update

from expertloop.services import uow
from expertloop.storage import repositories as repo
from expertloop.storage.orm import LedgerEntry, ProjectSpend
from tests import factories as f


def _spent(s, project_id: int) -> tuple[int, int]:
    """(what the budget check reads, the ledger's own sum)."""
    with uow.read(s):
        total = s.execute(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
                          .where(LedgerEntry.project_id == project_id)).scalar_one()
        return repo.project_spent_cents(s, project_id), int(total)


def test_the_spend_follows_every_write_to_the_ledger(session):
    p = f.project(session, "label", overlap=1)
    other = f.project(session, "label", overlap=1)
    e = f.expert(session)
    assert _spent(session, p["id"]) == (0, 0)
    now = datetime.now(UTC)
    row = {"expert_id": e["id"], "kind": "adjustment", "minutes": "0", "rate_cents": 0, "created_at": now}
    with uow.write(session):  # raw rows, as a bulk load or another tool would write them
        session.execute(insert(LedgerEntry), [{**row, "project_id": p["id"], "amount_cents": 1250},
                                              {**row, "project_id": p["id"], "amount_cents": -250},
                                              {**row, "project_id": other["id"], "amount_cents": 99},
                                              {**row, "project_id": None, "amount_cents": 7}])
    assert _spent(session, p["id"]) == (1000, 1000)
    with uow.write(session):
        session.execute(update(LedgerEntry).where(LedgerEntry.amount_cents == 1250).values(amount_cents=2000))
    assert _spent(session, p["id"]) == (1750, 1750)
    with uow.write(session):  # a payment moved to another project
        session.execute(update(LedgerEntry).where(LedgerEntry.amount_cents == -250)
                        .values(project_id=other["id"]))
    assert _spent(session, p["id"]) == (2000, 2000)
    assert _spent(session, other["id"]) == (-151, -151)
    with uow.write(session):
        session.execute(delete(LedgerEntry).where(LedgerEntry.project_id == p["id"]))
    assert _spent(session, p["id"]) == (0, 0)


def test_a_submit_adds_its_pay_to_the_spend(session):
    p = f.project(session, "label", overlap=1, budget_usd="1000")
    f.items(session, p["id"], "label", 2)
    e = f.expert(session)
    from datetime import timedelta

    from expertloop.config import Settings
    from expertloop.services import assignments as svc

    actor = f.trainer_actor(e)
    t0 = datetime.now(UTC)
    lease = svc.lease_next(session, actor, p["id"], now=t0)
    svc.submit(session, actor, lease["assignment_id"], f.VALID_RESPONSE["label"], Settings(),
               now=t0 + timedelta(minutes=1))
    spent, total = _spent(session, p["id"])
    assert spent == total > 0
    with uow.read(session):
        assert session.get(ProjectSpend, p["id"]) is not None
