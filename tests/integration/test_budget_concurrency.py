"""The budget under concurrent claims: claims with ample headroom share the project row (they
no longer wait for one another), and however the claims interleave, the live leases' worst case
plus the spend never exceeds the budget."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select

from expertloop.domain.errors import BudgetExhausted
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.storage import repositories as repo
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Assignment
from tests import factories as f

N_TRAINERS = 40
LEASES_COVERED = 15  # $60/h, 10-minute cap: each lease reserves $10; the budget covers 15


@pytest.mark.parametrize("bound", [4, None], ids=["mixed-locks", "server-bound"])
def test_concurrent_claims_never_reserve_more_than_the_budget(fresh_url, monkeypatch, bound):
    """Forty trainers claim at once against a budget that covers fifteen leases. With a small
    bound on concurrent transactions (made true by a pool of that many connections) the first
    claims share the project row and the last ones take it exclusively; with the server's own
    bound every claim takes it exclusively. Either way exactly fifteen leases are handed out."""
    if bound is not None:
        monkeypatch.setattr(repo, "concurrent_transactions_bound", lambda session: bound)
    engine = make_engine(fresh_url, pool_size=N_TRAINERS + 5 if bound is None else bound // 2)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=1, budget_usd=f"{10 * LEASES_COVERED}.00", max_minutes_per_task=10)
        f.items(s, p["id"], "label", N_TRAINERS)
        experts = [f.expert(s, hourly_rate_usd="60.00")["id"] for _ in range(N_TRAINERS)]
    barrier = threading.Barrier(N_TRAINERS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def claim(expert_id: int) -> None:
        try:
            barrier.wait()
            with Session() as s:
                lease = svc.lease_next(s, Actor(Role.trainer, expert_id), p["id"])
            outcomes.append("lease" if lease else "none")
        except BudgetExhausted:
            outcomes.append("budget")
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(e,)) for e in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[0]
    with Session() as s, uow.read(s):
        live = s.execute(select(func.count()).select_from(Assignment).where(
            Assignment.project_id == p["id"], Assignment.state == "leased")).scalar_one()
    assert live == LEASES_COVERED, outcomes
    assert outcomes.count("lease") == LEASES_COVERED and outcomes.count("budget") == N_TRAINERS - LEASES_COVERED
    engine.dispose()


def _lease_statements(session, connection, actor, project_id: int) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(connection.engine, "before_cursor_execute", record)
    try:
        assert svc.lease_next(session, actor, project_id) is not None
    finally:
        event.remove(connection.engine, "before_cursor_execute", record)
    return seen


def test_a_claim_with_headroom_shares_the_project_row_and_one_near_the_end_takes_it(session, connection,
                                                                                     backend, monkeypatch):
    """PostgreSQL: with the budget far from its end a claim takes the project row FOR KEY SHARE
    (claims run side by side); once the headroom no longer covers every claim that could be in
    flight it takes the row FOR UPDATE and counts exactly."""
    if backend != "postgresql":
        pytest.skip("SQLite's write transaction runs one claim at a time: it takes no row lock")
    p = f.project(session, "label", overlap=1, budget_usd="1000000.00", max_minutes_per_task=10)
    f.items(session, p["id"], "label", 3)
    first, second = (f.trainer_actor(f.expert(session, hourly_rate_usd="60.00")) for _ in range(2))
    roomy = [s for s in _lease_statements(session, connection, first, p["id"]) if "FROM projects" in s]
    assert any(s.endswith("FOR KEY SHARE") for s in roomy), roomy
    assert not any(s.endswith("FOR UPDATE") for s in roomy), roomy
    # The same budget seen from a server allowing more concurrent transactions than it covers.
    monkeypatch.setattr(repo, "concurrent_transactions_bound", lambda session: 1_000_000)
    tight = [s for s in _lease_statements(session, connection, second, p["id"]) if "FROM projects" in s]
    assert any(s.endswith("FOR UPDATE") for s in tight), tight
