"""The demo's model-candidates project: written by a model when the demo has a server, shipped
pre-written (and marked so) when it has none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expertloop.demo import seed_demo
from expertloop.services import generation, uow
from expertloop.storage.orm import Item, ModelEndpoint, Project
from tests.factories import run_jobs


def _model_project(session) -> Project:
    with uow.read(session):
        return session.execute(select(Project).where(Project.name.like("%Model candidates%"))).scalar_one()


def test_offline_demo_ships_prewritten_candidates(session, backend):
    if backend != "sqlite":
        pytest.skip("the seed is the same on both databases; once is enough")
    seed_demo(session)
    p = _model_project(session)
    with uow.read(session):
        items = session.execute(select(Item).where(Item.project_id == p.id)).scalars().all()
        assert session.execute(select(ModelEndpoint)).first() is None
    assert len(items) == 30 and all(i.generation is None and i.target_overlap == 2 for i in items)
    assert all(r["generation"]["model"] is None and "pre-written" in r["generation"]["source"]
               for i in items for r in i.payload["responses"])


def test_demo_with_a_model_server_generates_its_candidates(session, backend, fresh_model_server):
    if backend != "sqlite":
        pytest.skip("the seed is the same on both databases; once is enough")
    seed_demo(session, model_url=fresh_model_server.base_url, model="tiny")
    p = _model_project(session)
    assert p.models["candidates"]["models"] == ["demo-model"]
    assert generation.generation_status(session, p.id)["pending"] == 30
    run_jobs(session)
    assert generation.generation_status(session, p.id) == {"project_id": p.id, "pending": 0, "failed": 0,
                                                           "complete": 30}
    with uow.read(session):
        item = session.execute(select(Item).where(Item.project_id == p.id)).scalars().first()
    assert [r["generation"]["model"] for r in item.payload["responses"]] == ["tiny", "tiny"]
