"""Gold never reaches a trainer: every GET route of the API and of the pages, walked as a trainer
who answered a gold item (missed it, disputed it, and had the dispute rejected), must not carry
the item's gold answer while the item is still in the gold pool. Retired, it may be shown."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from expertloop.services import assignments as work
from expertloop.services import items as items_svc
from expertloop.services import standing
from expertloop.services.imports import import_items
from tests.factories import ADMIN, auth, expert, project, token, trainer_actor
from tests.web.helpers import PageClient
from tests.web.test_web_bounds import api_routes

SECRET = "GOLDSECRET-the-first-answer-is-better-7f3a"
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _setup(session, settings):
    p = project(session, "preference")
    gold = {"choice": 0, "strength": 2, "rationale": SECRET, "criteria": {"accuracy": 5}}
    import_items(session, ADMIN, p["id"], [(1, {"external_id": "g", "prompt": "Which is right?", "gold": gold,
                                                "responses": [{"text": "one"}, {"text": "two"}]})])
    e = expert(session)
    me = trainer_actor(e)
    lease = work.lease_next(session, me, p["id"])
    # Choices name the answers' own indexes (whatever order they were shown in): 1 is not the gold's.
    work.submit(session, me, lease["assignment_id"], {"choice": 1, "strength": 1, "rationale": "mine"},
                settings)
    d = standing.open_dispute(session, me, lease["assignment_id"], "I think the second is better.")
    standing.decide_dispute(session, ADMIN, d["id"], "reject", note="The gold stands.")
    item_id = _item_id(session, lease["assignment_id"])
    ids = {"project_id": p["id"], "expert_id": e["id"], "assignment_id": lease["assignment_id"],
           "item_id": item_id, "dispute_id": d["id"]}
    return e, ids


def _item_id(session, assignment_id: int) -> int:
    from expertloop.services.uow import read
    from expertloop.storage.orm import Assignment
    with read(session):
        return session.get_one(Assignment, assignment_id).item_id


def _paths(templates: list[str], ids: dict) -> list[str]:
    """Each path template with its ids filled in (a name we do not know: every id we have)."""
    out = []
    for path in templates:
        names = PARAM.findall(path)
        choices = [[ids[n]] if n in ids else sorted(set(ids.values())) for n in names]
        variants = [path]
        for n, values in zip(names, choices, strict=True):
            variants = [re.sub(r"{" + n + r"(?::\w+)?}", str(v), x, count=1) for x in variants for v in values]
        out += variants
    return out


def _walk(get, paths: list[str]) -> dict[str, int]:
    statuses = {}
    for path in paths:
        r = get(path)
        statuses[path] = r.status_code
        assert SECRET not in r.text, f"{path} shows a trainer the gold answer"
    return statuses


def test_no_trainer_route_shows_gold_of_an_item_in_the_pool(app, session, settings):
    e, ids = _setup(session, settings)
    with TestClient(app) as client:
        headers = auth(token(session, "trainer", e["id"]))
        api = [path for path, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops]
        assert len(api) > 40
        seen = _walk(lambda path: client.get(path, headers=headers), _paths(api, ids))
        assert seen[f"/api/v1/projects/{ids['project_id']}/standing"] == 200
        st = client.get(f"/api/v1/projects/{ids['project_id']}/standing", headers=headers).json()
        row = st["gold"]["items"][0]
        assert row["missed"] is True and row["expected"] is None and row["expected_shown"] is False
        assert "old_gold" not in st["disputes"][0] and st["disputes"][0]["state"] == "rejected"
        # Staff read it all.
        staff = client.get(f"/api/v1/projects/{ids['project_id']}/standing",
                           params={"expert_id": e["id"]}, headers=auth(token(session, "admin")))
        assert SECRET in staff.text

    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "trainer", e["id"]), "/work")
        pages = sorted({r.path for r in api_routes(app.routes) if "GET" in r.methods
                        and r.endpoint.__module__.startswith("expertloop.web.")})
        assert len(pages) > 20
        seen = _walk(page.get, _paths(pages, ids))
        assert seen[f"/work/projects/{ids['project_id']}/standing"] == 200

    # Retired, the item is out of the pool: the trainer may now read the answer they missed.
    items_svc.retire_item(session, ADMIN, ids["item_id"], reason="seen enough")
    with TestClient(app) as client:
        headers = auth(token(session, "trainer", e["id"]))
        st = client.get(f"/api/v1/projects/{ids['project_id']}/standing", headers=headers).json()
        assert st["gold"]["items"][0]["expected"]["rationale"] == SECRET
        assert st["disputes"][0]["old_gold"]["rationale"] == SECRET
