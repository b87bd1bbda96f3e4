"""Page load times of the web app on the demo data (prints a table; not a test).

Starts ``expertloop serve --demo`` on a fresh SQLite file, signs in as the demo trainer (token)
and manager (token) through the real sign-in form, leases one task, then requests each page
``--repeat`` times and reports the best and median server round trip. Target: every page under
200 ms.

    python bench/pages.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
