"""Run ``expertloop serve`` as a real subprocess on a free local port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(database_url: str | None, *args: str, timeout: float = 60.0, cwd: Path | None = None):
    """Yield (base_url, process, log_path) for a live server; stops it afterwards.

    ``database_url=None`` leaves the default (``./expertloop.db`` in ``cwd``)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "EXPERTLOOP_DATABASE_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    if database_url is not None:
        env["EXPERTLOOP_DATABASE_URL"] = database_url
    log_path = Path(cwd or ".") / f"serve-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "expertloop.cli.main", "serve", "--port", str(port), *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield base, proc, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
