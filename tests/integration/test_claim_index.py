"""The claim reads open items through ix_items_claim on both databases, and a bulk import
leaves the planner statistics up to date."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, text, update

from expertloop.services import uow
from expertloop.services.imports import ANALYZE_GROWTH, ANALYZE_MIN, import_items, refresh_statistics
from expertloop.storage import repositories as repo
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Item
from tests import factories as f
from tests.plans import query_plan


def _claim_plan(session, engine, project_id: int, expert_id: int) -> str:
    return query_plan(session, engine, lambda: repo.next_candidate_item(
        session, project_id, expert_id, datetime.now(UTC), skip_locked=engine.dialect.name != "sqlite",
        gold=False))[1]


def test_the_claim_uses_the_claim_index_and_imports_refresh_statistics(fresh_url):
    engine = make_engine(fresh_url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=1)
        e = f.expert(s)
        result = import_items(s, f.ADMIN, p["id"], [(n, f.item_for("label", n)) for n in range(1, 1502)])
        assert result["imported"] == 1501
        with uow.read(s):
            if engine.dialect.name == "postgresql":
                analyzed = s.execute(text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'items'"))
                assert analyzed.scalar_one() is not None
            else:
                assert s.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'items'")).scalar_one() > 0
        assert not refresh_statistics(s)  # fresh statistics: nothing to do
        grow = int(1501 * ANALYZE_GROWTH + ANALYZE_MIN) - 1501 + 1
        uow.run_write(s, lambda: s.execute(insert(Item), [
            {"project_id": p["id"], "payload": {"text": "x"}, "priority": 0, "done_count": 1,
             "target_overlap": 1, "created_at": datetime.now(UTC)}] * grow))
        assert refresh_statistics(s)  # grown past the threshold: refreshed
        assert not refresh_statistics(s)
        # a nearly finished project: the open items are few and the index holds only them
        with uow.write(s):
            s.execute(update(Item).where(Item.project_id == p["id"]).values(done_count=1))
            s.execute(insert(Item), [{"project_id": p["id"], "payload": {"text": "late"}, "priority": 0,
                                      "done_count": 0, "target_overlap": 1, "created_at": datetime.now(UTC)}])
        with uow.read(s):
            plan = _claim_plan(s, engine, p["id"], e["id"])
        assert "ix_items_claim" in plan, plan
    engine.dispose()


def test_the_claim_probes_the_experts_own_work_per_candidate(fresh_url):
    """"Not already seen by me" is one index probe per candidate item (expert, item), never an
    anti-join that reads the expert's whole history, whatever the statistics say about it."""
    engine = make_engine(fresh_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        import pytest
        pytest.skip("SQLite runs a correlated NOT EXISTS per candidate row by itself")
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=2)
        e = f.expert(s)
        import_items(s, f.ADMIN, p["id"], [(n, f.item_for("label", n)) for n in range(1, 200)])
        with uow.read(s):
            plan = _claim_plan(s, engine, p["id"], e["id"])
        assert "Anti Join" not in plan and "NOT (SubPlan" in plan, plan
    engine.dispose()


def test_live_leases_are_counted_from_the_leased_rows_alone(fresh_url):
    """Where nearly every assignment is submitted, analysed statistics say no index on the state
    narrows anything: the live-lease count must still read the partial index of leased rows,
    not every assignment (it did: 0.4 s at a million judgments)."""
    from sqlalchemy import select

    from expertloop.storage.orm import Assignment

    engine = make_engine(fresh_url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=1)
        f.items(s, p["id"], "label", 1)
        e = f.expert(s)
        with uow.read(s):
            item_id = s.execute(select(Item.id).where(Item.project_id == p["id"])).scalar_one()
        now = datetime.now(UTC)
        uow.run_write(s, lambda: s.execute(insert(Assignment), [
            {"project_id": p["id"], "item_id": item_id, "expert_id": e["id"], "state": "submitted",
             "leased_at": now, "lease_expires_at": now, "last_seen_at": now, "submitted_at": now,
             "active_seconds": 1.0}] * 3000))
        with uow.write(s):
            s.execute(text("ANALYZE"))
        with uow.read(s):
            counts, plan = query_plan(s, engine, lambda: repo.lease_counts(s, [p["id"]], now))
            assert counts == {}
            assert "ix_assignments_leased" in plan, plan
    engine.dispose()
