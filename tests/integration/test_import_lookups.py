"""The lookups an import makes for every batch stay index lookups while the tables grow inside
the import's own transaction, where the planner has no statistics yet.

On PostgreSQL ``external_id IN (...)`` was planned as a scan of the project once the table
had grown past what its (absent) statistics said: each batch of a 200,000-item import scanned
every item stored before it (542 s for the import; 12 s after).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from expertloop.services import uow
from expertloop.storage import repositories as repo
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Assignment, Item
from tests import factories as f
from tests.plans import query_plan

ITEMS = 20_000


def test_batch_lookups_use_their_indexes_in_a_table_grown_without_statistics(fresh_url):
    engine = make_engine(fresh_url)
    Session = make_sessionmaker(engine)
    pg = engine.dialect.name == "postgresql"
    with Session() as s:
        p = f.project(s, "label", overlap=2)
        e = f.expert(s)
        now = datetime.now(UTC)
        with uow.write(s):  # all in one transaction, as an import is: no statistics are taken
            s.execute(insert(Item), [{"project_id": p["id"], "external_id": f"x{n}", "payload": {"text": f"t{n}"},
                                      "priority": 0, "done_count": 0, "target_overlap": 2, "created_at": now}
                                     for n in range(ITEMS)])
            first = repo.external_ids_present(s, p["id"], ["x0"])["x0"]
            s.execute(insert(Assignment), [{"project_id": p["id"], "item_id": first + n, "expert_id": e["id"],
                                            "state": "submitted", "leased_at": now, "lease_expires_at": now,
                                            "last_seen_at": now,
                                            "submitted_at": now, "guidelines_version": 1,
                                            "response": {"label": "a"}} for n in range(0, ITEMS, 2)])
            wanted = [f"x{n}" for n in range(ITEMS - 500, ITEMS + 500)]  # half of them are there
            for generic in (False, True) if pg else (False,):
                _check_plans(s, engine, p["id"], e["id"], first, wanted, generic)
    engine.dispose()


def _check_plans(s, engine, project_id: int, expert_id: int, first: int, wanted: list[str], generic: bool) -> None:
    """The three lookups find what they should, through their indexes (module docstring)."""
    pg = engine.dialect.name == "postgresql"
    present, plan = query_plan(s, engine, lambda: repo.external_ids_present(s, project_id, wanted), generic=generic)
    assert present == {f"x{n}": first + n for n in range(ITEMS - 500, ITEMS)}
    assert "uq_items_project_external_id" in plan or "sqlite_autoindex_items" in plan, plan
    assert "Seq Scan on items" not in plan and "Hash" not in plan, plan

    items, plan = query_plan(s, engine, lambda: repo.items_by_external_id(s, project_id, wanted), generic=generic)
    assert items == {f"x{n}": (first + n, {"text": f"t{n}"}) for n in range(ITEMS - 500, ITEMS)}
    assert "uq_items_project_external_id" in plan or "sqlite_autoindex_items" in plan, plan
    assert "Seq Scan on items" not in plan and "Hash" not in plan, plan

    ids = [first + n for n in range(ITEMS - 1000, ITEMS)]
    work, plan = query_plan(s, engine, lambda: repo.work_on_items(s, ids, ("submitted", "leased")), generic=generic)
    assert sorted(i for i, _e, _a in work) == [first + n for n in range(ITEMS - 1000, ITEMS, 2)]
    assert {ex for _i, ex, _a in work} == {expert_id}
    assert repo.work_on_items(s, ids, ("rejected",)) == []
    assert "ix_assignments_item_state" in plan, plan
    assert "Seq Scan on assignments" not in plan and "Hash" not in plan, plan
    if pg:
        assert "unnest" in plan.lower() or "Function Scan" in plan, plan
