"""Fact-check items imported as ``{prompt, response}`` without claims: a ``split_claims`` job
asks the project's claim model (``"claims": {"model": …}``) to split each response into atomic
claims, stores them (the call's provenance goes to the item's metadata, which trainers never
see) and opens the item for experts — or for the ``judge_first`` judge.

Like candidate generation: batches read in a read unit, model calls with no transaction open,
results stored per batch only for items still pending; a refusal marks the item ``failed``
(``expertloop generate`` tries it again), an unavailable model fails the job, which resumes.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import llm
from ..domain.modelwork import claims_messages, read_claims
from ..storage.orm import Item, Project
from . import models
from .imports import FAILED, PENDING
from .uow import reads, writes

BATCH = 16
Progress = Callable[[dict], None]


@reads
def _batch(session: Session, project_id: int, after_id: int) -> tuple[str | None, int, list[tuple[int, dict]]]:
    project = session.get(Project, project_id)
    if project is None:
        return None, 0, []
    target = (project.adaptive_overlap or {}).get("min", project.overlap)
    rows = session.execute(select(Item.id, Item.payload).where(Item.project_id == project_id,
                                                               Item.generation == PENDING, Item.id > after_id)
                           .order_by(Item.id).limit(BATCH)).all()
    return ((project.models or {}).get("claims") or {}).get("model"), target, [(r.id, r.payload) for r in rows]


def split_claims(session: Session, project_id: int, *, job_id: int | None = None,
                 progress: Progress | None = None) -> dict:
    done = failed = after = 0
    unavailable: llm.ModelError | None = None
    while True:
        model, target, batch = _batch(session, project_id, after)
        if not batch or model is None:
            break
        after = batch[-1][0]
        results = models.call_many(session, [models.CallRequest(model, claims_messages(p), temperature=0.0)
                                             for _, p in batch],
                                   purpose="claims", project_id=project_id, job_id=job_id)
        split: dict[int, tuple[list[str], dict]] = {}
        refused: dict[int, str] = {}
        for (item_id, _), got in zip(batch, results, strict=True):
            if isinstance(got, llm.ModelError):
                if got.retryable:
                    unavailable = got
                else:
                    refused[item_id] = got.message
                continue
            claims = read_claims(got[0].text)
            if claims:
                split[item_id] = (claims, {**got[0].provenance(), "endpoint_name": model})
            else:
                refused[item_id] = f"the model named no claims: {got[0].text[:200]!r}"
        stored, n_failed = _store(session, project_id, split, refused, target)
        done += stored
        failed += n_failed
        if progress:
            progress({"step": "splitting claims", "done": done, "failed": failed})
    if unavailable is not None:
        raise unavailable
    return {"split": done, "failed": failed}


@writes
def _store(session: Session, project_id: int, split: dict[int, tuple[list[str], dict]], refused: dict[int, str],
           target: int) -> tuple[int, int]:
    from .generation import after_generation

    stored = failed = 0
    ids = sorted(set(split) | set(refused))
    for item in session.execute(select(Item).where(Item.id.in_(ids)).with_for_update()).scalars():
        if item.generation != PENDING:
            continue
        if item.id in refused:
            item.generation = FAILED
            item.meta = {**(item.meta or {}), "generation_error": refused[item.id][:500]}
            failed += 1
            continue
        claims, provenance = split[item.id]
        item.payload = {**item.payload, "claims": claims}
        item.meta = {**(item.meta or {}), "claims_generation": provenance}
        stored += 1
        after_generation(session, item, target)
    session.flush()
    return stored, failed
