"""Concurrent retries of one submit — same Idempotency-Key or different keys — on a real
database: every answer is the first result or a 409, never a server error, and exactly one
judgment and one ledger entry are written."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from expertloop.config import Settings
from expertloop.domain.errors import Conflict
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Item, LedgerEntry
from tests import factories as f

N = 10


@pytest.mark.parametrize("same_key", [True, False], ids=["same-key", "different-keys"])
def test_concurrent_retries_of_one_submit_return_the_first_result_or_409(fresh_url, same_key):
    engine = make_engine(fresh_url, pool_size=N + 5)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=1)
        f.items(s, p["id"], "label", 1)
        actor = Actor(Role.trainer, f.expert(s)["id"])
        lease = svc.lease_next(s, actor, p["id"])
    barrier = threading.Barrier(N)
    results: list[object] = []

    def retry(n: int) -> None:
        key = "retry-1" if same_key else f"retry-{n}"
        with Session() as s:
            barrier.wait()
            try:
                results.append(svc.submit(s, actor, lease["assignment_id"], {"label": "yes"}, Settings(),
                                          idempotency_key=key))
            except Conflict as exc:
                results.append(exc)
            except BaseException as exc:  # a 500 in production
                results.append(exc)

    threads = [threading.Thread(target=retry, args=(n,)) for n in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
    assert not unexpected, f"{len(unexpected)} server errors, first: {unexpected[0]!r}"
    ok = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(results) == N
    if same_key:
        assert len(ok) == N and not conflicts  # every retry sees the first result
        assert {r["earned_usd"] for r in ok} == {ok[0]["earned_usd"]}
    else:
        assert len(ok) == 1 and len(conflicts) == N - 1
    with Session() as s, uow.read(s):
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 1
        assert s.execute(select(Item.done_count)).scalar_one() == 1
    engine.dispose()
