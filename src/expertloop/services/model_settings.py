"""A project's model settings after creation: its candidate models (``candidates``), the model
that splits fact-check responses into claims (``claims``), the judge that screens items before
experts (``judge_first``) and the AI help shown to trainers (``options.ai_assistance``).

The same rules check them as at creation (``domain.modelwork`` and the task type's
``check_ai_assistance``) and every endpoint they name must be registered. A change applies to
the items imported from then on and to those still waiting for a model; what it does to work in
flight is said in words (``effects``): clearing ``judge_first`` opens the items waiting for the
judge to experts, clearing ``candidates`` or ``claims`` is refused while items wait for them,
and naming a new judge or AI help queues its job. Nothing here calls a model.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.checks import Checker
from ..domain.errors import Conflict, ValidationFailed
from ..domain.lifecycle import ProjectStatus
from ..domain.modelwork import parse_candidates, parse_claims, parse_judge_first
from ..domain.policies import Actor, require_staff
from ..domain.tasks import TaskType
from ..domain.tasks import task_type as task_spec
from ..domain.tasks.base import check_ai_assistance
from ..storage import repositories as repo
from ..storage.orm import Item
from . import ai_help, audit
from .imports import FAILED, JUDGED, PENDING, SCREENING
from .jobs import JUDGE_ITEMS, enqueue
from .judging import JUDGED_TYPES
from .projects import check_endpoints, load_project
from .uow import reads, writes

FIELDS = ("candidates", "claims", "judge_first", "ai_assistance")


def _waiting(session: Session, project_id: int, state: str) -> int:
    return int(session.execute(select(func.count()).select_from(Item).where(
        Item.project_id == project_id, Item.generation == state)).scalar_one())


@reads
def model_settings(session: Session, actor: Actor, project_id: int) -> dict:
    """The project's model settings and how many items wait for a model (staff)."""
    require_staff(actor, "see a project's model settings")
    project = load_project(session, project_id)
    models = project.models or {}
    counts = dict(session.execute(select(Item.generation, func.count()).where(Item.project_id == project_id)
                                  .group_by(Item.generation)).all())
    spec = task_spec(project.task_type)
    task = TaskType(project.task_type)
    return {"project_id": project.id, "task_type": project.task_type, "status": project.status,
            "candidates": models.get("candidates"), "claims": models.get("claims"),
            "judge_first": models.get("judge_first"), "ai_assistance": ai_help.config(project),
            "ai_kinds": list(spec.ai_kinds),
            "allows": {"candidates": task in (TaskType.preference, TaskType.ranking),
                       "claims": task == TaskType.factcheck,
                       "judge_first": task in (TaskType.preference, TaskType.label),
                       "ai_assistance": bool(spec.ai_kinds), "judge": task in JUDGED_TYPES},
            "items": {"pending": int(counts.get(PENDING, 0)), "failed": int(counts.get(FAILED, 0)),
                      "screening": int(counts.get(SCREENING, 0)), "judged": int(counts.get(JUDGED, 0)),
                      "open": int(counts.get(None, 0))}}


@writes
def update_models(session: Session, actor: Actor, project_id: int, changes: Any) -> dict:
    """Set or clear (``null``) any of ``candidates``, ``claims``, ``judge_first`` and
    ``ai_assistance``; keys left out stay as they are. Every problem is reported at once, named by
    its field, and nothing changes unless all is well. Returns the settings and ``effects``."""
    require_staff(actor, "change a project's model settings")
    if not isinstance(changes, dict):
        raise ValidationFailed("must be an object", loc="body")
    c = Checker()
    c.no_unknown(changes, FIELDS, "")
    repo.lock_project(session, project_id)
    project = load_project(session, project_id)
    if project.status == ProjectStatus.archived.value:
        raise Conflict(f"project {project_id} is archived: it is a read-only record")
    task = TaskType(project.task_type)
    spec = task_spec(task)
    models = dict(project.models or {})
    new: dict[str, Any] = {}
    if "candidates" in changes:
        new["candidates"] = parse_candidates(c, changes["candidates"], task)
    if "claims" in changes:
        new["claims"] = parse_claims(c, changes["claims"], task)
    if "judge_first" in changes:
        new["judge_first"] = parse_judge_first(c, changes["judge_first"], task)
    if "ai_assistance" in changes:
        value = changes["ai_assistance"]
        if value is not None and not spec.ai_kinds:
            c.fail("options.ai_assistance", f"{task.value} projects show no AI help")
        elif value is not None:
            check_ai_assistance(c, {"ai_assistance": value}, spec.ai_kinds)
        new["ai_assistance"] = value
    c.raise_if_any()
    check_endpoints(session, {k: v for k, v in new.items() if v})
    effects: list[str] = []
    for field, waits in (("candidates", "candidate answers"), ("claims", "their claims")):
        if field in new and new[field] is None and models.get(field):
            n = _waiting(session, project.id, PENDING) + _waiting(session, project.id, FAILED)
            if n:
                raise ValidationFailed(f"{n} item{'' if n == 1 else 's'} still wait for {waits}: generate them "
                                       "or retire them before clearing this", loc=field)
    changed = sorted(k for k in new if k != "ai_assistance" and new[k] != models.get(k)) + (
        ["ai_assistance"] if "ai_assistance" in new and new["ai_assistance"] != ai_help.config(project) else [])
    for field in ("candidates", "claims", "judge_first"):
        if field in new:
            if new[field]:
                models[field] = new[field]
            else:
                models.pop(field, None)
    project.models = models or None
    if "ai_assistance" in new:
        options = {k: v for k, v in (project.options or {}).items() if k != "ai_assistance"}
        if new["ai_assistance"]:
            options["ai_assistance"] = new["ai_assistance"]
        project.options = options
    target = (project.adaptive_overlap or {}).get("min", project.overlap)
    if "candidates" in changed:
        effects.append("candidate models cleared: items imported from now on bring their own answers"
                       if not models.get("candidates") else
                       f"candidates now from {', '.join(models['candidates']['models'])}: items imported without "
                       "answers get theirs from these models; answers already written stay")
    if "claims" in changed:
        effects.append("claim model cleared: items imported from now on bring their own claims"
                       if not models.get("claims") else
                       f"claims now split by {models['claims']['model']} for items imported without claims")
    if "judge_first" in changed:
        screen = models.get("judge_first")
        if screen is None:
            opened = session.execute(update(Item).where(Item.project_id == project.id, Item.generation == SCREENING)
                                     .values(generation=None, target_overlap=target))
            n = int(getattr(opened, "rowcount", 0) or 0)
            effects.append(f"judge first cleared: the {n} item{'' if n == 1 else 's'} waiting for the judge "
                           "open for experts; items the judge settled stay settled")
        else:
            waiting = _waiting(session, project.id, SCREENING)
            if waiting:
                enqueue(session, JUDGE_ITEMS, project_id=project.id, payload={"model": screen["model"]})
            effects.append(f"judge first by {screen['model']} at ≥ {screen['min_agreement']:.0%}: items imported "
                           f"from now on go to the judge before experts ({waiting} waiting now); items already "
                           "open stay open")
    if "ai_assistance" in changed:
        if ai_help.config(project) is None:
            effects.append("AI help cleared: trainers see no suggestion on their next tasks; what was shown "
                           "before stays on the record")
        else:
            ai_help.queue_suggestions(session, project)
            effects.append(f"AI help ({project.options['ai_assistance']['kind']} by "
                           f"{project.options['ai_assistance']['model']}): suggestions are being written for the "
                           "items that have none; each trainer's assignment records what was shown")
    if changed:
        audit.record(session, actor, "project.models_changed", project_id=project.id, target=project.name,
                     detail={"changed": changed, "models": project.models,
                             "ai_assistance": ai_help.config(project), "effects": effects})
    else:
        effects.append("nothing changed")
    session.flush()
    return {"project_id": project.id, "candidates": models.get("candidates"), "claims": models.get("claims"),
            "judge_first": models.get("judge_first"), "ai_assistance": ai_help.config(project), "effects": effects}


def _prompt(payload: dict) -> str:
    if isinstance(payload.get("prompt"), str):
        return payload["prompt"]
    users = [m.get("content") for m in payload.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else ""


@reads
def latest_model_items(session: Session, actor: Actor, project_id: int, limit: int = 5) -> list[dict]:
    """The project's latest items as a model left them (staff: model names included): the
    candidate answers with the endpoint that wrote each, or the claims, or why a model refused."""
    require_staff(actor, "see a project's items")
    rows = session.execute(select(Item.id, Item.external_id, Item.payload, Item.generation, Item.meta)
                           .where(Item.project_id == project_id).order_by(Item.id.desc())
                           .limit(max(1, min(limit, 20)))).all()
    out = []
    for r in rows:
        payload = r.payload if isinstance(r.payload, dict) else {}
        responses = [{"text": x.get("text"), "model": x.get("model"), "generated": bool(x.get("generation"))}
                     for x in payload.get("responses") or [] if isinstance(x, dict)]
        claims = [c if isinstance(c, str) else str(c.get("text") or c.get("claim") or "")
                  for c in payload.get("claims") or [] if isinstance(c, str | dict)]
        out.append({"id": r.id, "external_id": r.external_id, "prompt": _prompt(payload),
                    "generation": r.generation, "responses": responses, "claims": claims,
                    "error": (r.meta or {}).get("generation_error") if isinstance(r.meta, dict) else None})
    return out
