"""Submit latency and manager page times against project size (prints a table; not a test).

For each database (SQLite always; PostgreSQL with ``--pg URL``), each size (judgments already in
the project) and each routing mode (adaptive overlap, fixed overlap), the script builds a fresh
database with one label project, fills it, then times ``--submits`` submits (lease, then the
timed submit; trainers take turns) and reports p50/p99 of the submit alone. Then it times the
manager's project page and quality report (``--page-repeat`` requests after one warm-up, the
median), through the real web app in-process (ASGI, no network), signed in with a manager token.

Filling: experts and the project go through the services; items and judgments are bulk
inserted with SQLAlchemy Core (``insert(...)`` of many rows at once): each filled item has 3
judgments from 3 of 50 trainers, each right with probability 0.85 (seed 7). When the code has
the stored consensus fit (0.2), the ``refit_consensus`` job is run once after filling, as a
worker would; timed submits then queue refits that no worker runs during the timing. A filled
PostgreSQL database is vacuumed and analysed, as autovacuum would after the bulk load. The
``stmts`` column is the median number of SQL statements per submit.

    python bench/submit.py [--sizes 3000,30000,100000] [--submits 200] [--pg URL]

Targets: submit p99 < 30 ms at every size; pages < 300 ms at 100k judgments.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(os.environ.get("EXPERTLOOP_BENCH_SRC", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import event, insert  # noqa: E402

from expertloop.config import Settings  # noqa: E402
from expertloop.domain.policies import Actor, Role  # noqa: E402
from expertloop.services import assignments as svc  # noqa: E402
from expertloop.services.experts import import_experts  # noqa: E402
from expertloop.services.projects import create_project  # noqa: E402
from expertloop.services.tokens import issue_token  # noqa: E402
from expertloop.storage.db import make_sessionmaker  # noqa: E402
from expertloop.storage.orm import Assignment, Item, LedgerEntry  # noqa: E402
from harness import Database  # noqa: E402

ADMIN = Actor(role=Role.admin)
N_TRAINERS = 50
PER_ITEM = 3
ACCURACY = 0.85
SUBMIT_TARGET_MS = 30
PAGE_TARGET_MS = 300
MODES = {"adaptive": {"min": 3, "max": 5, "target_confidence": 0.95}, "fixed": 3}


def _create_app(settings: Settings):
    try:
        from expertloop.app import create_app
    except ImportError:  # 0.1: the API's factory also mounted the pages
        from expertloop.api.app import create_app
    return create_app(settings)


def _refit(session, project_id: int) -> str:
    try:
        from expertloop.services.consensus import refit_consensus
    except ImportError:
        return "no stored fit in this version"
    t = time.perf_counter()
    refit_consensus(session, project_id)
    return f"refit job once after filling ({time.perf_counter() - t:.1f} s)"


def fill(db: Database, overlap, judgments: int, fresh_items: int) -> tuple[int, list[int], str, float]:
    Session = make_sessionmaker(db.engine)
    rng = random.Random(7)
    with Session() as s:
        experts = import_experts(s, ADMIN, [(i + 1, {
            "name": f"Trainer {i}", "email": f"t{i}@bench.example", "degree": "phd", "languages": ["en"],
            "hourly_rate_usd": "60.00", "country": "GB"}) for i in range(N_TRAINERS)])
        ids = [e["id"] for e in experts]
        project = create_project(s, ADMIN, {"name": "Bench labels", "task_type": "label",
                                            "options": {"labels": ["yes", "no"]}, "overlap": overlap,
                                            "lease_minutes": 30, "max_minutes_per_task": 20})
    pid = project["id"]
    n_filled = judgments // PER_ITEM
    target = overlap["min"] if isinstance(overlap, dict) else overlap
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        for start in range(0, n_filled + fresh_items, 5000):
            stop = min(start + 5000, n_filled + fresh_items)
            conn.execute(insert(Item.__table__), [
                {"project_id": pid, "external_id": f"i{k}", "priority": 0, "payload": {"text": f"Text {k}"},
                 "done_count": PER_ITEM if k < n_filled else 0, "target_overlap": PER_ITEM if k < n_filled else target,
                 "created_at": now - timedelta(days=30)} for k in range(start, stop)])
        item_ids = [r[0] for r in conn.exec_driver_sql(
            f"SELECT id FROM items WHERE project_id = {pid} ORDER BY id").all()]
        rows, ledger = [], []
        for k in range(n_filled):
            truth = rng.choice(["yes", "no"])
            for expert_id in rng.sample(ids, PER_ITEM):
                label = truth if rng.random() < ACCURACY else ("no" if truth == "yes" else "yes")
                when = now - timedelta(days=rng.randrange(1, 28), seconds=rng.randrange(86400))
                rows.append({"project_id": pid, "item_id": item_ids[k], "expert_id": expert_id,
                             "state": "submitted", "leased_at": when - timedelta(minutes=3),
                             "lease_expires_at": when + timedelta(minutes=27), "last_seen_at": when,
                             "submitted_at": when, "active_seconds": 150.0, "guidelines_version": 1,
                             "response": {"label": label}})
            if len(rows) >= 6000 or k == n_filled - 1:
                first = conn.execute(insert(Assignment.__table__).returning(Assignment.id), rows).scalars().all()
                ledger += [{"expert_id": r["expert_id"], "project_id": pid, "assignment_id": a, "kind": "earning",
                            "minutes": "3", "rate_cents": 6000, "amount_cents": 300, "created_at": r["submitted_at"]}
                           for r, a in zip(rows, first, strict=True)]
                rows = []
            if len(ledger) >= 6000:
                conn.execute(insert(LedgerEntry.__table__), ledger)
                ledger = []
        if ledger:
            conn.execute(insert(LedgerEntry.__table__), ledger)
    fill_s = time.perf_counter() - t0
    with Session() as s:
        how = _refit(s, pid)
    if db.kind == "postgresql":  # as autovacuum would after the bulk load
        db.analyze()
    return pid, ids, how, fill_s


def time_submits(db: Database, pid: int, trainer_ids: list[int], n: int) -> tuple[list[float], list[int]]:
    """Submit times (ms) and SQL statements per submit (cursor executions; with PostgreSQL add
    BEGIN, COMMIT and the pool's pre-ping, round trips the driver makes outside a cursor)."""
    Session = make_sessionmaker(db.engine)
    settings = Settings(database_url=db.url)
    rng = random.Random(11)
    out: list[float] = []
    statements: list[int] = []
    counter = [0]

    def count(*_args) -> None:
        counter[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    turn = 0
    with Session() as s:
        while len(out) < n:
            actor = Actor(role=Role.trainer, expert_id=trainer_ids[turn % len(trainer_ids)])
            turn += 1
            lease = svc.lease_next(s, actor, pid)
            if lease is None:
                if turn > 50 * n:
                    raise RuntimeError("the project ran out of work before the submits were timed")
                continue
            counter[0] = 0
            t = time.perf_counter()
            svc.submit(s, actor, lease["assignment_id"], {"label": rng.choice(["yes", "yes", "no"])}, settings)
            out.append((time.perf_counter() - t) * 1000)
            statements.append(counter[0])
    event.remove(db.engine, "before_cursor_execute", count)
    return out, statements


def time_pages(db: Database, pid: int, repeat: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    Session = make_sessionmaker(db.engine)
    with Session() as s:
        token = issue_token(s, Role.manager, label="bench")
    app = _create_app(Settings(database_url=db.url))
    out = {}
    with TestClient(app) as client:
        page = client.get("/signin?tab=token").text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post("/signin/token", data={"token": token, "csrf_token": csrf})
        for name, path in (("project page", f"/manage/projects/{pid}"),
                           ("quality report", f"/manage/projects/{pid}/quality")):
            times = []
            for i in range(repeat + 1):
                t = time.perf_counter()
                r = client.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
                if i:
                    times.append((time.perf_counter() - t) * 1000)
            out[name] = statistics.median(times)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="3000,30000,100000", help="judgments already in the project")
    parser.add_argument("--submits", type=int, default=200, help="timed submits per size and mode")
    parser.add_argument("--pg", default=None, help="also run on PostgreSQL (a server URL; a database is made)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--page-repeat", type=int, default=3, help="timed requests per page (after a warm-up)")
    parser.add_argument("--no-pages", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    backends = ([] if args.no_sqlite else [("sqlite", None)]) + ([("postgresql", args.pg)] if args.pg else [])
    print(f"expertloop at {ROOT}; {args.submits} timed submits per row; fill: services for experts and the "
          "project, SQLAlchemy Core bulk inserts for items and judgments (PostgreSQL: then VACUUM ANALYZE)")
    header = (f"{'database':<11} {'judgments':>9} {'mode':<9} {'fill s':>6} {'submit p50':>10} {'p99 ms':>7}"
              f" {'stmts':>5} {'project page':>12} {'quality':>8}  notes")
    print(header)
    print("-" * len(header))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in backends:
            for size in sizes:
                for mode, overlap in MODES.items():
                    db = Database(url, Path(tmp))
                    try:
                        pid, trainers, how, fill_s = fill(db, overlap, size, fresh_items=args.submits * 2)
                        times, statements = time_submits(db, pid, trainers, args.submits)
                        pages = {} if args.no_pages or mode != "adaptive" else time_pages(db, pid, args.page_repeat)
                    finally:
                        db.close()
                    p50, p99 = statistics.median(times), pct(times, 99)
                    page, report = (pages.get(k, float("nan")) for k in ("project page", "quality report"))
                    row = (f"{backend:<11} {size:>9,} {mode:<9} {fill_s:>6.1f} {p50:>10.1f} {p99:>7.1f}"
                           f" {statistics.median(statements):>5.0f} {page:>12.0f} {report:>8.0f}  {how}")
                    print(row, flush=True)
                    results.append((backend, size, mode, p99, pages))
    bad = [r for r in results if r[3] >= SUBMIT_TARGET_MS]
    slow = [r for r in results if r[1] >= 100_000 and any(v >= PAGE_TARGET_MS for v in r[4].values())]
    print(f"\ntargets: submit p99 < {SUBMIT_TARGET_MS} ms: {'met' if not bad else f'missed in {len(bad)} rows'}; "
          f"pages < {PAGE_TARGET_MS} ms at 100k: {'met' if not slow else f'missed in {len(slow)} rows'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
