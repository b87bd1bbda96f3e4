"""Page load times of the web app (prints a table; not a test).

Two modes. On the demo data (default): starts ``expertloop serve --demo`` on a fresh SQLite
file, signs in as the demo trainer (token) and manager (token) through the real sign-in form,
leases one task, then requests each page
``--repeat`` times and reports the best and median server round trip. Target: every page under
200 ms.

At programme size (``--scale 1000000``): fills a preference project with that many items, each
judged once (SQL bulk insert, 50 trainers, paid), on SQLite or on PostgreSQL (``--pg URL``), then
times every manager page and the project API in process: the first quality request on a project
without a snapshot, the jobs that compute it, then each page (median wall and process CPU time of
``--repeat`` requests after a warm-up). Target: under 300 ms. ``--keep FILE`` keeps the SQLite
file and reuses it on the next run (filling a million rows takes minutes).

    python bench/pages.py [--repeat 5]
    python bench/pages.py --scale 1000000 [--pg URL | --keep /tmp/pages-1m.sqlite] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from tests.serving import served  # noqa: E402  (importable only after the path insert above)

TARGET_MS = 200


def sign_in(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
    page = client.get("/signin?tab=token").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/signin/token", data={"token": token, "csrf_token": csrf})
    return client


def csrf_of(client: httpx.Client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/work").text).group(1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per page")
    parser.add_argument("--scale", type=int, help="items (= judgments) of the project for manager pages at size")
    parser.add_argument("--pg", help="PostgreSQL server URL for --scale (a database is made and dropped)")
    parser.add_argument("--keep", type=Path, help="SQLite file for --scale, kept and reused when it exists")
    args = parser.parse_args(argv)
    if args.scale:
        at_scale(args.scale, pg_url=args.pg, keep=args.keep, repeat=args.repeat)
        return 0
    with tempfile.TemporaryDirectory() as tmp, served(None, "--demo", cwd=Path(tmp)) as (base, _proc, log):
        tokens = dict(re.findall(r"(admin|manager|reviewer|trainer)\s+token: (el_\S+)", log.read_text()))
        trainer, manager = sign_in(base, tokens["trainer"]), sign_in(base, tokens["manager"])
        projects = httpx.get(base + "/api/v1/projects",
                             headers={"Authorization": f"Bearer {tokens['admin']}"}).json()
        pref = next(p["id"] for p in projects if p["task_type"] == "preference")
        lease = trainer.post(f"/work/projects/{pref}/next", data={"csrf_token": csrf_of(trainer)},
                             follow_redirects=False)
        task = lease.headers["location"]
        item = httpx.get(base + f"/api/v1/projects/{pref}/items",
                         headers={"Authorization": f"Bearer {tokens['admin']}"}).json()["items"][0]["id"]
        pages = [(trainer, "/work"), (trainer, task), (trainer, "/my-work"), (trainer, "/exams"),
                 (manager, "/manage"), (manager, f"/manage/projects/{pref}"), (manager, "/review"),
                 (manager, f"/manage/projects/{pref}/quality"), (manager, "/manage/experts"),
                 (manager, "/manage/exams"), (manager, f"/manage/projects/{pref}/settings"),
                 (manager, f"/manage/projects/{pref}/items"), (manager, f"/manage/projects/{pref}/items?q=the"),
                 (manager, f"/manage/items/{item}"), (manager, "/manage/access")]
        rows = []
        for client, url in pages:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                r = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200 or r.url.path.startswith("/signin"):
                    raise SystemExit(f"{url}: HTTP {r.status_code} at {r.url} (not signed in?)")
            rows.append((url, min(times), statistics.median(times)))
    print(f"| page | best ms | median ms | under {TARGET_MS} ms |\n|---|---:|---:|---|")
    for url, best, median in rows:
        print(f"| `{url}` | {best:.0f} | {median:.0f} | {'yes' if median < TARGET_MS else 'NO'} |")
    return 0


# -- manager pages at programme size ----------------------------------------------------------
SCALE_TARGET_MS = 300


def manager_urls(pid: int, expert_id: int) -> list[str]:
    """Every manager page of the console (and the project API) that reads a whole project."""
    return [f"/api/v1/projects/{pid}", "/api/v1/projects", "/manage", f"/manage/projects/{pid}",
            f"/manage/projects/{pid}?forecast_kind=accuracy&forecast_value=0.9",
            f"/manage/projects/{pid}/quality", f"/api/v1/projects/{pid}/quality",
            f"/manage/projects/{pid}/items", f"/manage/projects/{pid}/items?q=q12345",
            "/manage/experts", f"/manage/experts/{expert_id}",
            f"/api/v1/projects/{pid}/standing?expert_id={expert_id}", "/manage/pay", "/manage/audit", "/review"]


def fill(db, size: int, trainers: int = 50) -> tuple[int, list[int]]:
    """A preference project of ``size`` items, each judged once (submitted, paid), by SQL."""
    from sqlalchemy import func, insert, select

    from expertloop.storage.orm import Assignment, Item, LedgerEntry
    from serving import bulk_items, make_project, make_trainers

    ids, _ = make_trainers(db, trainers, tokens=False)
    pid = make_project(db, overlap=1, budget_usd="100000000")
    bulk_items(db, pid, size, done=size, overlap=1)
    rng = random.Random(3)
    now = datetime.now(UTC)
    response = {"strength": 2, "rationale": "more accurate", "criteria": {"accuracy": 5}}
    with db.engine.begin() as conn:
        first = conn.execute(select(func.min(Item.id)).where(Item.project_id == pid)).scalar_one()
    # One transaction per batch: the ledger's triggers update the same few rows (spend per
    # project, ledger per expert and day) for every entry, and PostgreSQL can prune the old
    # versions of those rows only once the transaction that wrote them has ended.
    for lo in range(0, size, 20_000):
        with db.engine.begin() as conn:
            rows = []
            for k in range(lo, min(lo + 20_000, size)):
                when = now - timedelta(days=rng.randrange(1, 28), seconds=rng.randrange(86400))
                rows.append({"project_id": pid, "item_id": first + k, "expert_id": ids[k % len(ids)],
                             "state": "submitted", "leased_at": when - timedelta(minutes=3),
                             "lease_expires_at": when + timedelta(minutes=27), "last_seen_at": when,
                             "submitted_at": when, "active_seconds": 150.0, "guidelines_version": 1,
                             "presentation": {"order": [0, 1]},
                             "response": {**response, "choice": rng.randrange(2)}})
            new = conn.execute(insert(Assignment.__table__).returning(Assignment.id), rows).scalars().all()
            conn.execute(insert(LedgerEntry.__table__), [
                {"expert_id": r["expert_id"], "project_id": pid, "assignment_id": a, "kind": "earning",
                 "minutes": "3", "rate_cents": 6000, "amount_cents": 300, "created_at": r["submitted_at"]}
                for r, a in zip(rows, new, strict=True)])
    db.analyze()
    return pid, ids


def timed(client, url: str, headers: dict, repeat: int) -> tuple[int, float, float, str]:
    """(status, median wall ms, median process CPU ms, what the body says of the snapshot)."""
    walls, cpus, r = [], [], None
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        r = client.get(url, headers=headers, follow_redirects=False)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    state = ""
    is_json = r is not None and r.headers.get("content-type", "").startswith("application/json")
    if is_json and isinstance(r.json(), dict):
        state = str(r.json().get("status") or "")
    elif r is not None and "being computed" in r.text:
        state = "being computed"
    return r.status_code, statistics.median(walls), statistics.median(cpus), state


def at_scale(size: int, *, pg_url: str | None, keep: Path | None, repeat: int) -> list[tuple]:
    """Fill (or reuse, with ``keep``) a project of ``size`` items and judgments and time every
    manager page in process: the first quality request (no snapshot: it queues the job), the
    job itself, then each page ``repeat`` times after one warm-up."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select, update

    from expertloop.app import create_app
    from expertloop.config import Settings
    from expertloop.domain.policies import Actor, Role
    from expertloop.jobs.runner import JobRunner
    from expertloop.services import payroll, uow
    from expertloop.services.tokens import issue_token
    from expertloop.storage.orm import Expert, Job, Project
    from harness import Database

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(pg_url, Path(tmp), path=keep, prefix="serving")
        try:
            with db.Session() as s, uow.read(s):
                pid = s.execute(select(Project.id).where(Project.name == "Serving bench")).scalar()
            with db.engine.begin() as conn:  # jobs a stopped earlier run left running are queued again
                conn.execute(update(Job).where(Job.state == "running").values(state="queued", locked_until=None))
            if pid is None:
                t0 = time.perf_counter()
                pid, _ = fill(db, size)
                print(f"filled {size:,} items and judgments in {time.perf_counter() - t0:.0f} s", flush=True)
            with db.Session() as s:
                with uow.read(s):
                    expert_id = s.execute(select(Expert.id).order_by(Expert.id)).scalars().first()
                manager = issue_token(s, "manager")
                if not payroll.list_periods(s, Actor(role=Role.admin)):  # the payroll page sums the fill's month
                    today = datetime.now(UTC).date()
                    payroll.create_period(s, None, "Bench month", (today - timedelta(days=29)).isoformat(),
                                          today.isoformat())
            hdr = {"Authorization": f"Bearer {manager}"}
            client = TestClient(create_app(Settings(database_url=db.url)))
            form = client.get("/signin?tab=token").text  # the console's pages want a signed-in session
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            client.post("/signin/token", data={"token": manager, "csrf_token": csrf}, follow_redirects=False)
            for url in ("/api/v1/projects", "/manage", f"/manage/projects/{pid}/items"):  # warm the app up
                client.get(url, headers=hdr)
            rows = []
            for url in (f"/api/v1/projects/{pid}/quality", f"/manage/projects/{pid}/quality"):
                status, wall, cpu, state = timed(client, url, hdr, 1)
                rows.append((f"{url} (first, no snapshot)", status, wall, cpu, state))
            c, t = time.process_time(), time.perf_counter()
            ran = JobRunner(db.Session).run_until_idle()
            print(f"{ran} jobs (consensus fit, quality snapshot) in {time.perf_counter() - t:.0f} s wall, "
                  f"{time.process_time() - c:.0f} s CPU", flush=True)
            for url in manager_urls(pid, expert_id):
                timed(client, url, hdr, 1)  # warm-up: the first read of a stored fit decodes it
                status, wall, cpu, state = timed(client, url, hdr, repeat)
                rows.append((url, status, wall, cpu, state))
        finally:
            if keep is None:
                db.close()
            else:
                db.engine.dispose()
    print(f"\n| page ({size:,} items, {size:,} judgments, {db.kind}) | status | median ms | median CPU ms "
          f"| under {SCALE_TARGET_MS} ms | snapshot |\n|---|---:|---:|---:|---|---|")
    for url, status, wall, cpu, state in rows:
        print(f"| `{url}` | {status} | {wall:.0f} | {cpu:.0f} | {'yes' if cpu < SCALE_TARGET_MS else 'NO'} "
              f"| {state} |", flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
