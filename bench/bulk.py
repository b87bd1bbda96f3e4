"""Bulk import and export at a million records: time, records/s and peak memory (prints a table;
not a test).

For each database (SQLite always; PostgreSQL with ``--pg URL``) the script builds a fresh
database with one preference project and runs, each as its own ``expertloop`` process:

1. ``items import`` of ``--n`` items from JSONL, then (into a second project) from Parquet;
2. (judgments filled with one SQL statement: one submitted judgment per item, the answer
   alternating between the two responses, then the consensus job run once as a worker would)
3. ``export --format preference -o FILE.jsonl`` and ``-o FILE.parquet``;
4. the streamed API export, ``GET /api/v1/projects/{id}/export?format=preference`` (and
   ``&file=parquet``), read to the end by a client from a real ``expertloop serve``.

Peak memory is the process's own high-water resident set (VmHWM, polled while it runs): the
server's for the API rows. CPU is the process's user + system time (the server's during the
request for the API rows): on a shared, loaded machine it says more than wall time. Each step is
repeated ``--repeat`` times and the median reported.
The items are generated once (seed-free: item i is the same in every run), ~520 bytes of JSON
each: a prompt and two answers.

    python bench/bulk.py [--records 1000000] [--repeat 1] [--pg URL] [--keep DIR] [--skip-api]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERTLOOP = [str(Path(sys.executable).parent / "expertloop")]  # the installed entry point


def item(i: int) -> dict:
    return {"external_id": f"q{i}", "prompt": f"Which answer about topic {i} is better? " + "lorem ipsum " * 10,
            "responses": [{"text": f"Answer A {i} " + "dolor sit amet " * 8, "model": "a"},
                          {"text": f"Answer B {i} " + "consectetur " * 8, "model": "b"}]}


def write_items(n: int, folder: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl, parquet = folder / f"items-{n}.jsonl", folder / f"items-{n}.parquet"
    if not jsonl.exists():
        with jsonl.open("w") as fh:
            for i in range(n):
                fh.write(json.dumps(item(i)) + "\n")
    if not parquet.exists():
        writer = None
        for start in range(0, n, 50_000):
            table = pa.Table.from_pylist([item(i) for i in range(start, min(n, start + 50_000))])
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
    return jsonl, parquet


def _hwm_mb(pid: int) -> int:
    """The process's resident-set high-water mark (VmHWM), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: list[str], env: dict) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS MB, output) of one expertloop command.

    Peak memory is VmHWM read every 20 ms while it runs (not ``ru_maxrss``, which after
    fork+exec also remembers this script's own resident set)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*EXPERTLOOP, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    peak = 0
    chunks: list[bytes] = []
    os.set_blocking(proc.stdout.fileno(), False)
    while proc.poll() is None:
        peak = max(peak, _hwm_mb(proc.pid))
        chunk = proc.stdout.read()
        if chunk:
            chunks.append(chunk)
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    rest = proc.stdout.read()
    chunks.append(rest or b"")
    output = b"".join(chunks).decode()
    if proc.returncode != 0:
        raise SystemExit(f"expertloop {' '.join(args)} failed:\n{output}")
    return seconds, 0.0, peak, output


def run_cpu(args: list[str], env: dict) -> tuple[float, float, int, str]:
    """As :func:`run`, with the command's CPU time (user + system) from ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen([*EXPERTLOOP, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _hwm_mb(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"expertloop {' '.join(args)} failed:\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, peak, err


def fill_judgments(url: str, project_id: int) -> None:
    """One submitted judgment per item by one expert, straight into the table (and the items'
    done counts), then the consensus job once: what a million submits would leave behind."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import text

    from expertloop.jobs import JobRunner
    from expertloop.services import jobs
    from expertloop.services.imports import refresh_statistics
    from expertloop.services.uow import run_write
    from expertloop.storage.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        def fill() -> None:
            s.execute(text("INSERT INTO experts (name, email, degree, licenses, domains, languages, hourly_rate_cents, "
                           "status, verified_domains, created_at) VALUES ('Bench', 'bench@example.org', 3, '[]', "
                           "'{}', '[\"en\"]', 6000, 'active', '{}', CURRENT_TIMESTAMP)"))
            expert = s.execute(text("SELECT id FROM experts WHERE email = 'bench@example.org'")).scalar_one()
            choice = "(items.id % 2)" if engine.dialect.name == "sqlite" else "(items.id % 2)::text::jsonb"
            response = (f"json_object('choice', {choice}, 'strength', 2)" if engine.dialect.name == "sqlite"
                        else f"jsonb_build_object('choice', {choice}, 'strength', 2)")
            s.execute(text(
                "INSERT INTO assignments (project_id, item_id, expert_id, state, leased_at, lease_expires_at, "
                "last_seen_at, submitted_at, active_seconds, guidelines_version, response) "
                f"SELECT project_id, id, :expert, 'submitted', created_at, created_at, created_at, created_at, 30.0, "
                f"1, {response} FROM items WHERE project_id = :p"), {"expert": expert, "p": project_id})
            s.execute(text("UPDATE items SET done_count = 1 WHERE project_id = :p"), {"p": project_id})
            jobs.enqueue(s, jobs.REFIT_CONSENSUS, project_id=project_id, debounce=True)
        run_write(s, fill)
    with factory() as s:
        refresh_statistics(s, force=True)
    JobRunner(factory).run_until_idle()
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_export(env: dict, project_id: int, params: dict, out: Path) -> tuple[float, float, int, int]:
    """(seconds, server CPU seconds, server peak RSS MB, bytes) of one streamed export through a
    fresh server, read to the end by this client."""
    import httpx

    token = run(["token", "create", "--role", "admin"], env)[3].strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([*EXPERTLOOP, "serve", "--port", str(port), "--no-jobs"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        cpu_before = _cpu_seconds(server.pid)
        start = time.perf_counter()
        size = 0
        with httpx.stream("GET", f"{base}/api/v1/projects/{project_id}/export", params=params,
                          headers={"Authorization": f"Bearer {token}"}, timeout=1200) as r, out.open("wb") as fh:
            r.raise_for_status()
            for chunk in r.iter_raw():
                fh.write(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds(server.pid) - cpu_before
        peak = _hwm_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    return seconds, cpu, peak, size


def bench_backend(name: str, url: str, n: int, repeat: int, files: tuple[Path, Path], work: Path,
                  skip_api: bool) -> list[tuple]:
    env = {**os.environ, "EXPERTLOOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src"),
           "EXPERTLOOP_DATA_DIR": str(work / "data")}
    rows: list[tuple] = []
    project = work / "project.json"
    project.write_text(json.dumps({"name": "Bench", "task_type": "preference", "overlap": 1}))

    def timed(label: str, make) -> None:
        results = [make() for _ in range(repeat)]
        seconds = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        rss = statistics.median(r[2] for r in results)
        rows.append((name, label, n, seconds, cpu, n / seconds, rss))
        print(f"  {name:<10} {label:<28} {seconds:8.1f} s wall {cpu:8.1f} s CPU {n / seconds:10,.0f} rec/s "
              f"{rss:6.0f} MB", flush=True)

    def fresh_import(path: Path) -> tuple[float, float, int]:
        pid = run(["project", "create", str(project)], env)[3].strip().splitlines()[-1]
        seconds, cpu, rss, _ = run_cpu(["items", "import", pid, str(path)], env)
        return seconds, cpu, rss

    run(["init"], env)
    timed("import JSONL (CLI)", lambda: fresh_import(files[0]))
    timed("import Parquet (CLI)", lambda: fresh_import(files[1]))
    pid = int(run(["project", "create", str(project)], env)[3].strip().splitlines()[-1])
    run(["items", "import", str(pid), str(files[0])], env)
    fill_judgments(url, pid)
    for suffix in ("jsonl", "parquet"):
        out = work / f"export.{suffix}"
        timed(f"export {suffix} (CLI)", lambda out=out: run_cpu(["export", str(pid), "--format", "preference",
                                                                "-o", str(out)], env)[:3])
    if not skip_api:
        for file in ("jsonl", "parquet"):
            out = work / f"api-export.{file}"
            timed(f"export {file} (API stream)",
                  lambda out=out, file=file: api_export(env, pid, {"format": "preference", "file": file}, out)[:3])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", "--records", dest="n", type=int, default=1_000_000, help="records (items)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pg", help="PostgreSQL server URL (a database named expertloop_bench_* is made)")
    parser.add_argument("--keep", type=Path, help="keep generated files and databases in this folder (and the "
                                                  "PostgreSQL database, named at the end)")
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="expertloop-bulk-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.n:,} items in {work} … (load average "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + ")", flush=True)
    files = write_items(args.n, work)
    rows = []
    try:
        db = work / f"bench-{secrets.token_hex(3)}.db"
        rows += bench_backend("sqlite", f"sqlite:///{db}", args.n, args.repeat, files, work, args.skip_api)
        if args.pg:
            import psycopg
            from sqlalchemy.engine import make_url

            base = make_url(args.pg)
            name = f"expertloop_bench_{secrets.token_hex(3)}"
            admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                rows += bench_backend("postgresql", base.set(database=name).render_as_string(hide_password=False),
                                      args.n, args.repeat, files, work, args.skip_api)
            finally:
                if args.keep is None:
                    with psycopg.connect(admin, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                else:
                    print(f"kept the PostgreSQL database {name}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"| database | step | records | wall s (median of {args.repeat}) | CPU s | records/s (wall) | "
          "peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for backend, label, n, seconds, cpu, rate, rss in rows:
        print(f"| {backend} | {label} | {n:,} | {seconds:.1f} | {cpu:.1f} | {rate:,.0f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
