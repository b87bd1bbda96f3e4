"""Candidate answers written by models: items of a preference or ranking project imported with
only a prompt (or messages) wait, unleasable, until a ``generate_candidates`` job has asked
the project's candidate models for their answers.

The job works in batches: read the pending items (a read unit), call the models with no
transaction open (``services.models.call_many``), store each item's answers and open its
slots (a write unit per batch, only for items still pending, so a job run twice stores
nothing twice). An item a model refuses (a 4xx) is marked ``failed`` and left out; timeouts,
429s and 5xx that outlast the client's retries fail the job, which the queue retries later and
which resumes with the items still pending. Every answer keeps its model, its parameters and
the time of the call (``responses[i].generation``); the answers' ``model`` is the endpoint's
name, which exports keep as ``chosen_model``/``rejected_model`` and trainers never see.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import llm
from ..domain.errors import Conflict
from ..domain.modelwork import candidate_plan, prompt_of
from ..domain.policies import Actor, require_staff
from ..storage.orm import Item, Project
from . import audit, models
from .imports import FAILED, PENDING, SCREENING
from .jobs import GENERATE_CANDIDATES, JUDGE_ITEMS, SPLIT_CLAIMS, enqueue
from .projects import load_project
from .uow import reads, writes

BATCH = 16
Progress = Callable[[dict], None]


@writes
def request_generation(session: Session, actor: Actor | None, project_id: int) -> dict:
    """Queue (or find queued) the job that writes the project's missing candidate answers;
    items a model refused before are tried again. ``actor=None``: the operator."""
    if actor is not None:
        require_staff(actor, "generate candidate answers")
    project = load_project(session, project_id)
    if (project.models or {}).get("claims"):
        kind = SPLIT_CLAIMS
    elif (project.models or {}).get("candidates"):
        kind = GENERATE_CANDIDATES
    else:
        raise Conflict(f"project {project_id} names no candidate models (\"candidates\": {{\"models\": [...]}}) "
                       "and no claim model (\"claims\": {\"model\": ...})")
    res = session.execute(update(Item).where(Item.project_id == project_id, Item.generation == FAILED)
                          .values(generation=PENDING))
    retried = getattr(res, "rowcount", 0) or 0
    counts = _counts(session, project_id)
    job_id = enqueue(session, kind, project_id=project_id, debounce=True) if counts[PENDING] else None
    audit.record(session, actor, f"models.{kind}.requested", project_id=project_id,
                 detail={"pending": counts[PENDING], "retried_failed": retried, "job_id": job_id})
    return {"project_id": project_id, "pending": counts[PENDING], "retried_failed": retried, "job_id": job_id}


@reads
def generation_status(session: Session, project_id: int) -> dict:
    return {"project_id": project_id, **_counts(session, project_id)}


def _counts(session: Session, project_id: int) -> dict[str, int]:
    rows = dict(session.execute(select(Item.generation, func.count()).where(Item.project_id == project_id)
                                .group_by(Item.generation)).all())
    pending, failed = int(rows.get(PENDING, 0)), int(rows.get(FAILED, 0))
    return {PENDING: pending, FAILED: failed, "complete": int(sum(rows.values())) - pending - failed}


@reads
def _batch(session: Session, project_id: int, after_id: int) -> tuple[dict, int, list[tuple[int, dict]]]:
    project = session.get(Project, project_id)
    if project is None:
        return {}, 0, []
    target = (project.adaptive_overlap or {}).get("min", project.overlap)
    rows = session.execute(select(Item.id, Item.payload).where(Item.project_id == project_id,
                                                               Item.generation == PENDING, Item.id > after_id)
                           .order_by(Item.id).limit(BATCH)).all()
    return (project.models or {}).get("candidates") or {}, target, [(r.id, r.payload) for r in rows]


def generate_candidates(session: Session, project_id: int, *, job_id: int | None = None,
                        progress: Progress | None = None) -> dict:
    """The job's work: every pending item of the project gets its answers (see the module)."""
    total = _counts_read(session, project_id)[PENDING]
    done = failed = 0
    after = 0
    unavailable: llm.ModelError | None = None
    while True:
        config, target, batch = _batch(session, project_id, after)
        if not batch:
            break
        after = batch[-1][0]
        requests: list[models.CallRequest] = []
        owners: list[tuple[int, str]] = []
        for item_id, payload in batch:
            messages = prompt_of(payload, config.get("system"))
            for name, k in candidate_plan(config["models"], config["per_item"], item_id).items():
                requests.append(models.CallRequest(name, messages, n=k, temperature=config.get("temperature"),
                                                   max_tokens=config.get("max_tokens")))
                owners.append((item_id, name))
        results = models.call_many(session, requests, purpose="candidates", project_id=project_id, job_id=job_id)
        answers: dict[int, list[dict]] = {}
        refused: dict[int, str] = {}
        waiting: set[int] = set()
        for (item_id, name), got in zip(owners, results, strict=True):
            if isinstance(got, llm.ModelError):
                if got.retryable:
                    waiting.add(item_id)
                    unavailable = got
                else:
                    refused[item_id] = got.message
                continue
            answers.setdefault(item_id, []).extend(
                {"text": c.text, "model": name, "generation": c.provenance()} for c in got)
        stored = _store(session, answers, refused, waiting, target)
        done += stored
        failed += len(refused)
        if progress:
            progress({"step": "generating", "done": done, "failed": failed, "total": total})
    if unavailable is not None:
        # Stored answers stay; the queue retries the job, which resumes with what is pending.
        raise unavailable
    return {"generated": done, "failed": failed, **_counts_read(session, project_id)}


@reads
def _counts_read(session: Session, project_id: int) -> dict[str, int]:
    return _counts(session, project_id)


def after_generation(session: Session, item: Item, target: int) -> None:
    """An item whose model-written parts are in: open for experts, or, in a ``judge_first``
    project, waiting for the judge (whose job is queued, once per project and judge)."""
    project = session.get(Project, item.project_id)
    screen = ((project.models or {}).get("judge_first") if project is not None else None) or {}
    if screen.get("model"):
        item.generation = SCREENING
        key = ("judge_queued", item.project_id)
        if key not in session.info:  # one judge job per unit of work
            session.info[key] = enqueue(session, JUDGE_ITEMS, project_id=item.project_id,
                                        payload={"model": screen["model"]})
    else:
        item.generation = None
        item.target_overlap = target


@writes
def _store(session: Session, answers: dict[int, list[dict]], refused: dict[int, str], waiting: set[int],
           target: int) -> int:
    stored = 0
    ids = sorted(set(answers) | set(refused))
    for item in session.execute(select(Item).where(Item.id.in_(ids)).with_for_update()).scalars():
        if item.generation != PENDING:  # stored by an earlier run of this job
            continue
        if item.id in refused:
            item.generation = FAILED
            item.meta = {**(item.meta or {}), "generation_error": refused[item.id][:500]}
            continue
        if item.id in waiting:
            continue  # some of its answers are missing: the next run writes them all
        item.payload = {**item.payload, "responses": answers[item.id]}
        after_generation(session, item, target)
        stored += 1
    session.flush()
    return stored
