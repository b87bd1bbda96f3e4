"""Several worker processes serving one database: 50 trainers over HTTP, no double-booking.

This is how a programme outgrows one box, so it runs against the real ``expertloop serve``."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from sqlalchemy import select

from expertloop.services import uow
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Assignment
from tests import factories as f
from tests.serving import served

N_TRAINERS = 50


def test_fifty_trainers_over_http_on_two_workers(fresh_url, tmp_path):
    engine = make_engine(fresh_url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=2)
        f.items(s, p["id"], "label", 40)
        tokens = [f.token(s, "trainer", f.expert(s)["id"]) for _ in range(N_TRAINERS)]
    errors: list[str] = []
    barrier = threading.Barrier(N_TRAINERS)

    with served(fresh_url, "--workers", "2", cwd=tmp_path) as (base, _proc, _log):
        def work(tok: str) -> None:
            headers = f.auth(tok)
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                barrier.wait()
                while True:
                    r = http.post(f"/api/v1/projects/{p['id']}/assignments/next")
                    if r.status_code == 204:
                        return
                    if r.status_code != 200:
                        errors.append(f"lease {r.status_code} {r.text}")
                        return
                    aid = r.json()["assignment_id"]
                    r = http.post(f"/api/v1/assignments/{aid}/submit", json={"response": {"label": "yes"}},
                                  headers={"Idempotency-Key": f"a{aid}"})
                    if r.status_code != 200:
                        errors.append(f"submit {r.status_code} {r.text}")
                        return

        threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
    assert not errors, errors[:3]
    with Session() as s, uow.read(s):
        rows = s.execute(select(Assignment.item_id, Assignment.expert_id).where(Assignment.state == "submitted")).all()
    per_item = Counter(i for i, _ in rows)
    assert len(per_item) == 40 and set(per_item.values()) == {2}
    assert len(set(rows)) == len(rows)
    engine.dispose()
