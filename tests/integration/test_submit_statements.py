"""What one submit asks of the database: a fixed handful of statements about its own rows,
however large the project (the timing is measured by bench/submit.py, not here)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from expertloop.config import Settings
from expertloop.services import assignments as svc
from expertloop.services import consensus
from tests import factories as f

ADAPTIVE = {"min": 2, "max": 4, "target_confidence": 0.99}
# PostgreSQL adds its item and assignment row locks; see services/assignments.py
MOST = {"sqlite": 10, "postgresql": 12}
TRANSACTION = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


def _submit_statements(session, connection, actor, project_id: int, label: str) -> list[str]:
    lease = svc.lease_next(session, actor, project_id)
    assert lease is not None
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION):
            seen.append(" ".join(statement.split()))

    event.listen(connection.engine, "before_cursor_execute", record)
    try:
        svc.submit(session, actor, lease["assignment_id"], {"label": label}, Settings())
    finally:
        event.remove(connection.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("overlap", [ADAPTIVE, 2], ids=["adaptive", "fixed"])
def test_a_submit_runs_the_same_few_statements_at_any_project_size(session, connection, overlap):
    p = f.project(session, "label", overlap=overlap)
    f.items(session, p["id"], "label", 40)
    trainers = [f.trainer_actor(f.expert(session)) for _ in range(4)]
    first = _submit_statements(session, connection, trainers[0], p["id"], "yes")  # fits and stores the first fit
    consensus.refit_consensus(session, p["id"])
    _submit_statements(session, connection, trainers[1], p["id"], "yes")  # reads the new fit's trainer model
    small = _submit_statements(session, connection, trainers[2], p["id"], "yes")
    for k in range(30):
        _submit_statements(session, connection, trainers[k % 4], p["id"], ("yes", "no")[k % 3 == 0])
    consensus.refit_consensus(session, p["id"])
    _submit_statements(session, connection, trainers[3], p["id"], "no")
    large = _submit_statements(session, connection, trainers[0], p["id"], "no")

    assert len(first) > len(small)  # the first submit of a project stores its first fit
    assert len(large) == len(small) <= MOST[connection.dialect.name], large
    # Nothing reads the project's judgments as a whole: only this item's, by item id.
    assert not [s for s in large if "FROM assignments" in s and "assignments.project_id =" in s], large
    assert sum(s.startswith("INSERT INTO item_events") for s in large) == 1  # the item's history in one
