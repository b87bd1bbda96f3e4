"""Serving under load: concurrent trainers against `expertloop serve` (prints a table; not a test).

Three modes:

* **load** (default): for each backend (SQLite; PostgreSQL with ``--pg URL``) and each worker
  count, a fresh database gets one preference project (``--items`` items, overlap 2, a budget)
  and one trainer token per client; ``expertloop serve`` starts as a subprocess on a free port.
  Then for each N in ``--clients``, N trainers run lease -> submit loops for ``--duration``
  seconds, each over its own keep-alive HTTP connection (httpx). The table gives rounds/s,
  p50/p99 of lease and submit, errors (5xx counted separately), and afterwards over-allocation
  (items with more judgments than their overlap) and budget overrun read from the database.
  A PNG plots throughput and p99 against N. ``--peer label-studio`` runs Label Studio
  Community through the same loop (``/api/projects/{id}/next`` then an annotation) in the same
  run; it is started from its own environment (``--label-studio`` names its executable).
* **lease scale** (``--lease-scale 10000,100000,1000000``): a project of each size is bulk
  filled with SQL, then lease latency is timed in process (no HTTP) when the project is open,
  when 99% of it is done, and the 204 "nothing left" when all of it is done.
* **CPU per round** (``--cpu-rounds 300``): process CPU time and SQL statements of one lease +
  submit through the services in process (what load on a shared machine disturbs least).
* **pages** (``--pages 1000000``): a project with that many items and as many judgments, then
  ``GET /api/v1/projects/{id}`` and the manager's pages through the real app in process.

    python bench/serving.py --clients 1,8,32,128 --duration 30 --workers 1,2,4 --pg URL
    python bench/serving.py --lease-scale 10000,100000,1000000 [--pg URL]
    python bench/serving.py --pages 1000000 [--pg URL]
    python bench/serving.py --cpu-rounds 300 [--pg URL]

The machine these numbers come from is shared and small: compare ratios and medians within one
run, not absolutes across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, update  # noqa: E402

from expertloop.domain.policies import Actor, Role  # noqa: E402
from expertloop.services import uow  # noqa: E402
from expertloop.services.experts import import_experts  # noqa: E402
from expertloop.services.projects import create_project  # noqa: E402
from expertloop.services.tokens import issue_token  # noqa: E402
from expertloop.storage.orm import Assignment, Item, LedgerEntry, Project  # noqa: E402
from harness import Database  # noqa: E402

ADMIN = Actor(role=Role.admin)
OVERLAP = 2
RESPONSE = {"choice": 0, "strength": 2, "rationale": "more accurate", "criteria": {"accuracy": 5}}
PREFERENCE = {"options": {"criteria": ["accuracy", "clarity"]}}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- databases: harness.Database --------------------------------------------------------------
def make_trainers(db: Database, n: int, tokens: bool) -> tuple[list[int], list[str]]:
    with db.Session() as s:
        experts = import_experts(s, ADMIN, [(i + 1, {
            "name": f"Trainer {i}", "email": f"t{i}-{secrets.token_hex(3)}@bench.example", "degree": "phd",
            "languages": ["en"], "hourly_rate_usd": "60.00", "country": "GB"}) for i in range(n)])
        ids = [e["id"] for e in experts]
        toks = [issue_token(s, "trainer", i) for i in ids] if tokens else []
    return ids, toks


def make_project(db: Database, *, overlap: int, budget_usd: str | None) -> int:
    data = {"name": "Serving bench", "task_type": "preference", "guidelines": "Pick the better answer.",
            "overlap": overlap, "lease_minutes": 30, "max_minutes_per_task": 20, **PREFERENCE}
    if budget_usd is not None:
        data["budget_usd"] = budget_usd
    with db.Session() as s:
        return create_project(s, ADMIN, data)["id"]


def bulk_items(db: Database, pid: int, n: int, *, done: int = 0, overlap: int = OVERLAP, chunk: int = 20_000,
               start: int = 0) -> float:
    """Insert ``n`` preference items with SQL (the first ``done`` of them already full); seconds taken."""
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        for lo in range(start, start + n, chunk):
            hi = min(lo + chunk, start + n)
            conn.execute(insert(Item.__table__), [
                {"project_id": pid, "external_id": f"q{k}", "priority": 0,
                 "payload": {"prompt": f"Question {k}?", "responses": [{"text": f"good {k}"}, {"text": f"bad {k}"}]},
                 "done_count": overlap if k - start < done else 0, "target_overlap": overlap,
                 "created_at": now - timedelta(days=1)} for k in range(lo, hi)])
    return time.perf_counter() - t0


def audit(db: Database, pid: int) -> dict:
    """Over-allocation and budget overrun, read straight from the tables after a run."""
    done = ("submitted", "accepted")
    with db.Session() as s, uow.read(s):
        judged = (select(Assignment.item_id, func.count().label("n")).where(
            Assignment.project_id == pid, Assignment.state.in_(done)).group_by(Assignment.item_id).subquery())
        over = s.execute(select(func.count()).select_from(judged).join(Item, Item.id == judged.c.item_id)
                         .where(judged.c.n > Item.target_overlap)).scalar_one()
        dup = s.execute(select(func.count()).select_from(
            select(Assignment.item_id, Assignment.expert_id).where(
                Assignment.project_id == pid, Assignment.state.in_(done))
            .group_by(Assignment.item_id, Assignment.expert_id).having(func.count() > 1).subquery())).scalar_one()
        spent = s.execute(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
                          .where(LedgerEntry.project_id == pid)).scalar_one()
        budget = s.execute(select(Project.budget_cents).where(Project.id == pid)).scalar_one()
        judgments = s.execute(select(func.count()).select_from(Assignment).where(
            Assignment.project_id == pid, Assignment.state.in_(done))).scalar_one()
    overrun = max(0, int(spent) - int(budget)) if budget is not None else 0
    return {"over_allocated": int(over) + int(dup), "overrun_cents": overrun, "judgments": int(judgments)}


# -- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
        time.sleep(0.3)


class Server:
    def __init__(self, argv: list[str], env: dict, health: str, log: Path, port: int, timeout: float = 120):
        self.log, self.base = log, f"http://127.0.0.1:{port}"
        with open(log, "w") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        try:
            wait_up(self.base + health, self.proc, log, timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


def start_expertloop(db: Database, workers: int, tmp: Path) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPERTLOOP_")}
    env.update(PYTHONUNBUFFERED="1", EXPERTLOOP_DATABASE_URL=db.url,
               PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""))
    return Server([sys.executable, "-m", "expertloop.cli.main", "serve", "--port", str(port),
                   "--workers", str(workers)], env, "/health", tmp / f"serve-{port}.log", port)


# -- the load ---------------------------------------------------------------------------------
@dataclass
class Result:
    lease_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    rounds: int = 0
    empty: int = 0
    errors: int = 0
    errors_5xx: int = 0
    statuses: dict = field(default_factory=dict)

    def merge(self, other: Result) -> None:
        self.lease_ms += other.lease_ms
        self.submit_ms += other.submit_ms
        self.rounds += other.rounds
        self.empty += other.empty
        self.errors += other.errors
        self.errors_5xx += other.errors_5xx
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v


class Target:
    """How one system is driven: headers for a token, the lease call and the submit call."""

    name = "expertloop"

    def __init__(self, base: str, project_id: int):
        self.base, self.project_id = base, project_id

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    async def lease(self, client) -> tuple[int, object]:
        r = await client.post(f"/api/v1/projects/{self.project_id}/assignments/next")
        return r.status_code, (r.json()["assignment_id"] if r.status_code == 200 else None)

    async def submit(self, client, handle, key: str) -> int:
        r = await client.post(f"/api/v1/assignments/{handle}/submit", json={"response": RESPONSE},
                              headers={"Idempotency-Key": key})
        return r.status_code


class LabelStudioTarget(Target):
    name = "label-studio"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    async def lease(self, client) -> tuple[int, object]:
        r = await client.get(f"/api/projects/{self.project_id}/next")
        if r.status_code == 404:  # Label Studio's "no more tasks"
            return 204, None
        return r.status_code, (r.json()["id"] if r.status_code == 200 else None)

    async def submit(self, client, handle, key: str) -> int:
        r = await client.post(f"/api/tasks/{handle}/annotations?project={self.project_id}", json={
            "result": [{"from_name": "comparison", "to_name": "prompt", "type": "pairwise",
                        "value": {"selected": "left"}}], "lead_time": 1.0})
        return r.status_code


async def _trainer(target: Target, token: str, stop_at: float, measure_from: float, out: Result) -> None:
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=target.base, headers=target.headers(token), timeout=60,
                                 limits=limits) as client:
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            measured = t0 >= measure_from
            try:
                status, handle = await target.lease(client)
            except httpx.HTTPError:
                out.errors += measured
                await asyncio.sleep(0.05)
                continue
            t1 = time.monotonic()
            if measured:
                out.lease_ms.append((t1 - t0) * 1000)
                out.statuses[f"lease {status}"] = out.statuses.get(f"lease {status}", 0) + 1
            if status == 204:
                out.empty += measured
                await asyncio.sleep(0.05)
                continue
            if status != 200:
                out.errors += measured
                out.errors_5xx += measured and status >= 500
                await asyncio.sleep(0.05)
                continue
            try:
                status = await target.submit(client, handle, secrets.token_hex(8))
            except httpx.HTTPError:
                out.errors += measured
                continue
            t2 = time.monotonic()
            if measured:
                out.submit_ms.append((t2 - t1) * 1000)
                out.statuses[f"submit {status}"] = out.statuses.get(f"submit {status}", 0) + 1
                if status in (200, 201):
                    out.rounds += 1
                else:
                    out.errors += 1
                    out.errors_5xx += status >= 500


def _client_process(kind: str, base: str, project_id: int, tokens: list[str], start_at: float,
                    warmup: float, duration: float) -> Result:
    """One client process: its share of the trainers, each a coroutine with its own connection."""
    target = (LabelStudioTarget if kind == "label-studio" else Target)(base, project_id)
    out = Result()

    async def main() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        now = time.monotonic()
        await asyncio.gather(*[_trainer(target, t, now + warmup + duration, now + warmup, out) for t in tokens])

    asyncio.run(main())
    return out


def drive(kind: str, base: str, project_id: int, tokens: list[str], *, warmup: float, duration: float,
          procs: int) -> Result:
    procs = max(1, min(procs, len(tokens)))
    shares = [tokens[k::procs] for k in range(procs)]
    start_at = time.time() + 1.0
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        parts = pool.starmap(_client_process, [(kind, base, project_id, share, start_at + 0.5 * procs, warmup,
                                                duration) for share in shares])
    total = Result()
    for part in parts:
        total.merge(part)
    return total


@dataclass
class Row:
    system: str
    backend: str
    workers: int
    clients: int
    result: Result
    duration: float
    audit: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.result.rounds / self.duration

    def p99(self) -> float:
        return max(percentile(self.result.lease_ms, 99), percentile(self.result.submit_ms, 99))


def print_rows(rows: list[Row]) -> None:
    print("\n| system | db | workers | N | rounds/s | lease p50 | lease p99 | submit p50 | submit p99 "
          "| 204s | errors | 5xx | over-alloc | overrun $ |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        res = r.result
        over = r.audit.get("over_allocated", "")
        overrun = r.audit.get("overrun_cents")
        print(f"| {r.system} | {r.backend} | {r.workers} | {r.clients} | {r.rps:.1f} "
              f"| {percentile(res.lease_ms, 50):.0f} | {percentile(res.lease_ms, 99):.0f} "
              f"| {percentile(res.submit_ms, 50):.0f} | {percentile(res.submit_ms, 99):.0f} "
              f"| {res.empty} | {res.errors} | {res.errors_5xx} | {over} "
              f"| {'' if overrun is None else f'{overrun / 100:.2f}'} |", flush=True)


def plot(rows: list[Row], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -r bench/requirements-serving.txt)")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series: dict[str, list[Row]] = {}
    for r in rows:
        series.setdefault(f"{r.system} {r.backend} w{r.workers}" if r.system == "expertloop" else r.system,
                          []).append(r)
    for label, rs in series.items():
        rs.sort(key=lambda r: r.clients)
        ax1.plot([r.clients for r in rs], [r.rps for r in rs], marker="o", label=label)
        ax2.plot([r.clients for r in rs], [r.p99() for r in rs], marker="o", label=label)
    ax1.set(xlabel="concurrent trainers (N)", ylabel="rounds/s (lease + submit)", xscale="log")
    ax2.set(xlabel="concurrent trainers (N)", ylabel="p99 ms (worse of lease, submit)", xscale="log", yscale="log")
    ax2.axhline(50, color="grey", linestyle=":", linewidth=1)
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def run_expertloop(args, backend: str, pg_url: str | None, workers: int, tmp: Path) -> list[Row]:
    db = Database(pg_url, tmp, prefix="serving")
    rows: list[Row] = []
    try:
        n_max = max(args.clients)
        _ids, tokens = make_trainers(db, n_max, tokens=True)
        pid = make_project(db, overlap=OVERLAP, budget_usd=args.budget)
        bulk_items(db, pid, args.items)
        db.analyze()
        server = start_expertloop(db, workers, tmp)
        try:
            for n in args.clients:
                res = drive("expertloop", server.base, pid, tokens[:n], warmup=args.warmup, duration=args.duration,
                            procs=args.client_procs)
                row = Row("expertloop", backend, workers, n, res, args.duration, audit(db, pid))
                rows.append(row)
                print_rows([row])
        finally:
            server.stop()
    finally:
        db.close()
    return rows


# -- Label Studio -----------------------------------------------------------------------------
LS_CONFIG = """<View>
  <Header value="$prompt"/>
  <Text name="prompt" value="$prompt"/>
  <Text name="left" value="$left"/>
  <Text name="right" value="$right"/>
  <Pairwise name="comparison" toName="left,right"/>
</View>"""

LS_USERS = """
import sys
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from organizations.models import Organization
User = get_user_model()
admin = User.objects.get(email=sys.argv[1])
org = Organization.objects.first()
try:  # newer releases accept the classic "Token" header only where the organisation allows it
    from jwt_auth.models import JWTSettings
    jwt, _ = JWTSettings.objects.get_or_create(organization=org)
    jwt.legacy_api_tokens_enabled = True
    jwt.save()
except ImportError:
    pass
for k in range(int(sys.argv[2])):
    email = f"trainer{k}@bench.example"
    user, _ = User.objects.get_or_create(email=email, defaults={"username": email})
    user.active_organization = org
    user.save()
    org.add_user(user)
    print(Token.objects.get_or_create(user=user)[0].key)
"""


def run_label_studio(args, tmp: Path) -> list[Row]:
    """Label Studio Community with overlap 2 ("maximum annotations"), one token per trainer."""
    import httpx

    exe = args.label_studio or shutil.which("label-studio")
    if not exe or not Path(exe).exists():
        print(f"label-studio not found ({exe}); see bench/README.md to install it in .venv-bench")
        return []
    data = Path(args.peer_data) if args.peer_data else tmp / "label-studio"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # A reused data folder keeps its admin: the same name, password and token every time.
    admin_token = "0123456789abcdef0123456789abcdef01234567" if args.peer_data else secrets.token_hex(20)
    email, password = "admin@bench.example", "benchpass1" if args.peer_data else secrets.token_hex(8)
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "DJANGO_DB": "sqlite",
           "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "LATEST_VERSION_CHECK": "false",
           "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "false"}
    env.pop("PYTHONPATH", None)
    argv = [exe, "start", "--no-browser", "--port", str(port), "--data-dir", str(data), "--username", email,
            "--password", password, "--user-token", admin_token]
    server = Server(argv, env, "/health", tmp / "label-studio.log", port, timeout=args.peer_timeout)
    rows: list[Row] = []
    try:
        # Trainers: one user and token each, made through Label Studio's own Django models.
        python = Path(exe).with_name("python")
        where = "import label_studio, os; print(os.path.dirname(label_studio.__file__))"
        manage = subprocess.run([str(python), "-c", where], env=env, capture_output=True, text=True,
                                check=True).stdout.strip() + "/manage.py"
        users = subprocess.run([str(python), manage, "shell",
                               "-c", LS_USERS.replace("sys.argv[1]", repr(email))
                               .replace("int(sys.argv[2])", str(max(args.clients)))],
                              env=env, capture_output=True, text=True, timeout=600)
        tokens = [line.strip() for line in users.stdout.splitlines() if len(line.strip()) == 40]
        if len(tokens) < max(args.clients):
            print(f"label-studio: could not create trainer tokens: {users.stderr[-2000:]}")
            return rows
        admin = httpx.Client(base_url=server.base, headers={"Authorization": f"Token {admin_token}"}, timeout=120)
        made = admin.post("/api/projects", json={"title": "Serving bench", "label_config": LS_CONFIG,
                                                 "maximum_annotations": OVERLAP})
        if made.status_code != 201:
            print(f"label-studio: could not create the project: {made.status_code} {made.text[:500]}")
            return rows
        pid = made.json()["id"]
        tasks = [{"prompt": f"Question {k}?", "left": f"good {k}", "right": f"bad {k}"} for k in range(args.items)]
        for lo in range(0, len(tasks), 5000):
            admin.post(f"/api/projects/{pid}/import", json=tasks[lo:lo + 5000]).raise_for_status()
        for n in args.clients:
            if n > args.peer_max_clients:
                continue
            res = drive("label-studio", server.base, pid, tokens[:n], warmup=args.warmup, duration=args.duration,
                        procs=args.client_procs)
            over = 0
            page = admin.get(f"/api/projects/{pid}/tasks", params={"page_size": 100000, "fields": "all"}).json()
            for task in page if isinstance(page, list) else page.get("tasks", []):
                over += int(task.get("total_annotations", 0) > OVERLAP)
            row = Row("label-studio", "sqlite", 1, n, res, args.duration, {"over_allocated": over})
            rows.append(row)
            print_rows([row])
    finally:
        server.stop()
    return rows


CPU_MS: list[float] = []


# -- lease latency against project size --------------------------------------------------------
def time_leases(db: Database, trainers: list[Actor], pid: int, settings, n: int, submit: bool) -> list[float]:
    """Lease (ms, in process) ``n`` times, trainers taking turns; submit each lease when asked.
    The process CPU time of each lease goes to ``CPU_MS`` (less disturbed by other load on a
    shared machine; on SQLite it includes the database's own work, on PostgreSQL not)."""
    from expertloop.services import assignments as svc

    times = []
    with db.Session() as s:
        for k in range(n):
            actor = trainers[k % len(trainers)]
            t, c = time.perf_counter(), time.process_time()
            view = svc.lease_next(s, actor, pid)
            times.append((time.perf_counter() - t) * 1000)
            CPU_MS.append((time.process_time() - c) * 1000)
            if view is not None and submit:
                svc.submit(s, actor, view["assignment_id"], RESPONSE, settings)
    return times


def lease_scale(args, backend: str, pg_url: str | None, tmp: Path) -> list[tuple]:
    from expertloop.config import Settings

    out = []
    for size in args.lease_scale:
        db = Database(pg_url, tmp, prefix="serving")
        try:
            ids, _ = make_trainers(db, 50, tokens=False)
            pid = make_project(db, overlap=1, budget_usd=None)
            fill = bulk_items(db, pid, size, overlap=1)
            db.analyze()
            settings = Settings(database_url=db.url)
            trainers = [Actor(role=Role.trainer, expert_id=i) for i in ids]

            def timed(n: int, submit: bool, ctx=(db, trainers, pid, settings)) -> list[float]:
                return time_leases(*ctx, n, submit)

            timed(20, True)  # warm-up: imports, caches, first plans
            CPU_MS.clear()
            open_ms = timed(args.scale_leases, True)
            cpu = [statistics.median(CPU_MS)]
            CPU_MS.clear()
            with db.engine.begin() as conn:  # nearly done: all but the last 1% full
                conn.execute(update(Item).where(Item.project_id == pid, Item.id <= select(
                    func.max(Item.id) - size // 100).where(Item.project_id == pid).scalar_subquery())
                    .values(done_count=Item.target_overlap))
            db.analyze()
            nearly_ms = timed(args.scale_leases, True)
            cpu.append(statistics.median(CPU_MS))
            CPU_MS.clear()
            with db.engine.begin() as conn:  # nothing left
                conn.execute(update(Item).where(Item.project_id == pid).values(done_count=Item.target_overlap))
                conn.execute(update(Assignment).where(Assignment.state == "leased").values(state="released"))
            db.analyze()
            empty_ms = timed(args.scale_leases, False)
            cpu.append(statistics.median(CPU_MS))
            row = (backend, size, fill, open_ms, nearly_ms, empty_ms, cpu)
            out.append(row)
            print_scale([row])
        finally:
            db.close()
    return out


def print_scale(rows: list[tuple]) -> None:
    print("\n| db | items | fill s | open p50 | open p99 | 99% done p50 | 99% done p99 | 204 p50 | 204 p99 "
          "| CPU ms open / 99% / 204 (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for backend, size, fill, a, b, c, cpu in rows:
        print(f"| {backend} | {size:,} | {fill:.0f} | {percentile(a, 50):.1f} | {percentile(a, 99):.1f} "
              f"| {percentile(b, 50):.1f} | {percentile(b, 99):.1f} | {percentile(c, 50):.1f} "
              f"| {percentile(c, 99):.1f} | {' / '.join(f'{x:.1f}' for x in cpu)} |", flush=True)


# -- CPU per round ----------------------------------------------------------------------------
def cpu_per_round(args, backend: str, pg_url: str | None, tmp: Path) -> tuple:
    """Process CPU time and SQL statements of one round (authenticate + lease, authenticate +
    submit) through the services in process, no HTTP: what the server spends, least disturbed by
    other load on the machine. On PostgreSQL the database server's own CPU is not included."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from expertloop.config import Settings
    from expertloop.services import assignments as svc
    from expertloop.services.tokens import authenticate

    db = Database(pg_url, tmp, prefix="serving")
    try:
        _ids, toks = make_trainers(db, 20, tokens=True)
        pid = make_project(db, overlap=OVERLAP, budget_usd=args.budget)
        bulk_items(db, pid, 5000)
        db.analyze()
        settings = Settings(database_url=db.url)
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1

        def one_round(k: int) -> None:
            with db.Session() as s:
                view = svc.lease_next(s, authenticate(s, toks[k % len(toks)]), pid)
            with db.Session() as s:
                svc.submit(s, authenticate(s, toks[k % len(toks)]), view["assignment_id"], RESPONSE, settings)

        for k in range(30):
            one_round(k)
        event.listen(Engine, "before_cursor_execute", count)
        c = time.process_time()
        for k in range(args.cpu_rounds):
            one_round(k)
        cpu = (time.process_time() - c) / args.cpu_rounds * 1000
        event.remove(Engine, "before_cursor_execute", count)
        row = (backend, cpu, statements[0] / args.cpu_rounds)
        print(f"| {backend} | {cpu:.1f} | {row[2]:.0f} |", flush=True)
        return row
    finally:
        db.close()


# -- manager pages at size ---------------------------------------------------------------------
def pages_at_size(args, backend: str, pg_url: str | None, tmp: Path) -> list[tuple]:
    from fastapi.testclient import TestClient

    from expertloop.app import create_app
    from expertloop.config import Settings

    size = args.pages
    db = Database(pg_url, tmp, prefix="serving")
    try:
        ids, _ = make_trainers(db, 50, tokens=False)
        pid = make_project(db, overlap=1, budget_usd="100000000")
        t0 = time.perf_counter()
        bulk_items(db, pid, size, done=size, overlap=1)
        rng = random.Random(3)
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            first = conn.execute(select(func.min(Item.id)).where(Item.project_id == pid)).scalar_one()
            for lo in range(0, size, 20_000):
                rows, ledger = [], []
                for k in range(lo, min(lo + 20_000, size)):
                    when = now - timedelta(days=rng.randrange(1, 28), seconds=rng.randrange(86400))
                    rows.append({"project_id": pid, "item_id": first + k, "expert_id": ids[k % len(ids)],
                                 "state": "submitted", "leased_at": when - timedelta(minutes=3),
                                 "lease_expires_at": when + timedelta(minutes=27), "last_seen_at": when,
                                 "submitted_at": when, "active_seconds": 150.0, "guidelines_version": 1,
                                 "response": {**RESPONSE, "choice": rng.randrange(2)}})
                new = conn.execute(insert(Assignment.__table__).returning(Assignment.id), rows).scalars().all()
                for r, a in zip(rows, new, strict=True):
                    ledger.append({"expert_id": r["expert_id"], "project_id": pid, "assignment_id": a,
                                   "kind": "earning", "minutes": "3", "rate_cents": 6000, "amount_cents": 300,
                                   "created_at": r["submitted_at"]})
                conn.execute(insert(LedgerEntry.__table__), ledger)
        fill = time.perf_counter() - t0
        db.analyze()
        with db.Session() as s:
            manager = issue_token(s, "manager")
            from expertloop.services.consensus import refit_consensus
            t = time.perf_counter()
            refit_consensus(s, pid)
            print(f"filled {size:,} items and judgments in {fill:.0f} s; refit {time.perf_counter() - t:.0f} s")
        app = create_app(Settings(database_url=db.url))
        client = TestClient(app)
        hdr = {"Authorization": f"Bearer {manager}"}
        client.cookies.clear()
        out = []
        for url in (f"/api/v1/projects/{pid}", "/api/v1/projects", f"/manage/projects/{pid}", "/manage",
                    f"/manage/projects/{pid}/quality"):
            times = []
            for _ in range(args.page_repeat + 1):
                t = time.perf_counter()
                r = client.get(url, headers=hdr, follow_redirects=False)
                times.append((time.perf_counter() - t) * 1000)
            out.append((backend, size, url, r.status_code, statistics.median(times[1:])))
        print("\n| db | items = judgments | page | status | median ms |\n|---|---:|---|---:|---:|")
        for row in out:
            print(f"| {row[0]} | {row[1]:,} | `{row[2]}` | {row[3]} | {row[4]:.0f} |", flush=True)
        return out
    finally:
        db.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--clients", type=ints, default=[1, 8, 32, 128], help="N list, e.g. 1,8,32,128,200")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured per N")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds run before measuring")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--workers", type=ints, default=[1, 2, 4], help="server worker processes to try")
    parser.add_argument("--sqlite-workers", type=ints, default=[1, 2], help="worker counts tried on SQLite")
    parser.add_argument("--pg", default=os.environ.get("EXPERTLOOP_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server URL (a database is made and dropped per run)")
    parser.add_argument("--items", type=int, default=20_000, help="items in the load test's project")
    parser.add_argument("--budget", default="1000000", help="project budget in USD for the load test")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes sharing the trainers")
    parser.add_argument("--peer", choices=["label-studio"], help="also drive this system in the same run")
    parser.add_argument("--label-studio", default=str(ROOT / ".venv-bench" / "bin" / "label-studio"),
                        help="the label-studio executable (in its own environment)")
    parser.add_argument("--peer-max-clients", type=int, default=32, help="largest N tried on the peer")
    parser.add_argument("--peer-data", help="Label Studio data folder to reuse (its first start runs many migrations)")
    parser.add_argument("--peer-timeout", type=float, default=1200, help="seconds to wait for the peer to start")
    parser.add_argument("--lease-scale", type=ints, help="project sizes for lease latency, e.g. 10000,100000,1000000")
    parser.add_argument("--scale-leases", type=int, default=200, help="leases timed per state and size")
    parser.add_argument("--pages", type=int, help="items (= judgments) for the manager page timing")
    parser.add_argument("--page-repeat", type=int, default=5)
    parser.add_argument("--cpu-rounds", type=int, help="rounds timed in process for CPU per round, e.g. 300")
    parser.add_argument("--plot", default=str(ROOT / "bench" / "serving.png"))
    args = parser.parse_args(argv)
    backends = [(b, None if b == "sqlite" else args.pg) for b in args.backends.split(",") if b]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.lease_scale:
            rows = []
            for backend, url in backends:
                rows += lease_scale(args, backend, url, tmp)
            print("\nall sizes (ms, in process, one lease at a time):")
            print_scale(rows)
            return 0
        if args.pages:
            for backend, url in backends:
                pages_at_size(args, backend, url, tmp)
            return 0
        if args.cpu_rounds:
            print("| db | CPU ms / round | statements / round |\n|---|---:|---:|")
            for backend, url in backends:
                cpu_per_round(args, backend, url, tmp)
            return 0
        rows: list[Row] = []
        for backend, url in backends:
            for workers in (args.sqlite_workers if backend == "sqlite" else args.workers):
                rows += run_expertloop(args, backend, url, workers, tmp)
        if args.peer == "label-studio":
            rows += run_label_studio(args, tmp)
        print(f"\nall runs ({args.duration:.0f} s each after {args.warmup:.0f} s warm-up; latencies in ms):")
        print_rows(rows)
        peer = {r.clients: r.rps for r in rows if r.system == "label-studio"}
        for r in rows:
            if r.system == "expertloop" and peer.get(r.clients):
                print(f"N={r.clients} {r.backend} w{r.workers}: {r.rps / peer[r.clients]:.0f}x label-studio")
        plot(rows, Path(args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
