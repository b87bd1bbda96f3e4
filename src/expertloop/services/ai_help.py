"""AI help on the record: suggestions generated ahead by a job, what each trainer was shown, and
what they did with it.

A project with ``options.ai_assistance = {"model": ENDPOINT, "kind": "draft" | "preselect"}``
(a draft answer to edit in ``sft``; a pre-selected label in ``label``; pre-selected verdicts in
``factcheck``) gets one suggestion per item from the ``ai_suggestions`` job (queued when items
are imported, or on demand): item by item, outside any transaction, idempotent and resumable.
Never in a request: an item leased before its suggestion exists is simply shown none.

At lease time the assignment records exactly what is shown (``assignments.ai_assistance``:
kind, endpoint, model, suggestion, when it was shown); the submit adds what the trainer did:
``accepted`` (submitted unchanged), ``edited`` (with the edit distance: Levenshtein characters
for text, answers changed for choices) or ``discarded`` (the trainer threw the suggestion away).
Every exported record carries it as ``metadata.ai_assistance`` (null when nothing was shown).

A fact-check item whose claims a model split (``items.meta.claims_generation``) shows that split
too: the record's ``claim_split`` holds the claims shown, the model and its time, and after the
submit what the trainer did to the split (``accepted`` unchanged; ``edited`` with the edit
distance in claims — claims kept, changed, added or removed, as a Levenshtein distance over the
sequence of claim texts — and ``changes``, the count per provenance; ``discarded`` when no final
claim derives from a proposed one). When the split is the only AI help, the record's ``kind`` is
``claims`` and its action is the split's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import llm
from ..domain.errors import NotFound
from ..domain.modelwork import ai_assistance_record, ai_assistance_summary
from ..domain.policies import Actor, require_staff
from ..domain.tasks import TaskTypeSpec, claim_edits, task_type
from ..storage.orm import AiSuggestion, Item, Project
from . import jobs, models
from .clock import utcnow
from .projects import load_project
from .uow import reads, run_write, writes
from .views import iso

AI_SUGGESTIONS = "ai_suggestions"
BATCH = 50


def config(project: Project) -> dict | None:
    """The project's AI help (``{"model", "kind"}``), or None."""
    value = (project.options or {}).get("ai_assistance")
    return value if isinstance(value, dict) and value.get("model") else None


def queue_suggestions(session: Session, project: Project) -> int | None:
    """Queue the project's suggestion job (inside the caller's write unit); None without AI help."""
    if config(project) is None:
        return None
    return jobs.enqueue(session, AI_SUGGESTIONS, project_id=project.id, debounce=True)


@writes
def request_suggestions(session: Session, actor: Actor, project_id: int) -> dict:
    """Staff: (re)queue the job that generates the missing suggestions of a project."""
    require_staff(actor, "generate AI suggestions")
    project = load_project(session, project_id)
    if config(project) is None:
        raise NotFound(f"project {project_id} has no ai_assistance option")
    return {"project_id": project_id, "job_id": queue_suggestions(session, project)}


@reads
def _todo(session: Session, project_id: int, after: int) -> tuple[dict | None, list[tuple[int, dict]]]:
    project = session.get(Project, project_id)
    if project is None or config(project) is None:
        return None, []
    done = select(AiSuggestion.item_id).where(AiSuggestion.project_id == project_id)
    rows = session.execute(select(Item.id, Item.payload).where(Item.project_id == project_id, Item.id > after,
                                                               Item.id.not_in(done))
                           .order_by(Item.id).limit(BATCH)).all()
    return {"options": project.options or {}, "task_type": project.task_type, **(config(project) or {})}, \
        [(i, p) for i, p in rows]


def generate(session: Session, project_id: int, *, job_id: int | None = None,
             progress: Any = None) -> dict:
    """The ``ai_suggestions`` job: a suggestion for every item of the project that has none.
    Model calls run between units; an item whose suggestion appeared meanwhile is skipped."""
    made = unusable = 0
    after = 0
    while True:
        conf, batch = _todo(session, project_id, after)
        if conf is None or not batch:
            break
        spec = task_type(conf["task_type"])
        for item_id, payload in batch:
            after = item_id
            messages = spec.suggestion_prompt(payload, conf["options"], conf["kind"])
            try:
                [completion] = models.call(session, conf["model"], messages, purpose="suggestion",
                                           project_id=project_id, job_id=job_id, temperature=0)
            except (llm.ModelRequestError, llm.ModelResponseError):
                unusable += 1  # this item's prompt is refused: the others still get theirs
                continue
            content = spec.suggestion_from_reply(completion.text, payload, conf["options"], conf["kind"])
            if content is None:
                unusable += 1
                continue
            if _store(session, project_id, item_id, conf, content, completion):
                made += 1
            if progress is not None:
                progress({"step": "suggesting", "made": made, "unusable": unusable, "last_item": item_id})
    return {"made": made, "unusable": unusable}


def _store(session: Session, project_id: int, item_id: int, conf: dict, content: dict,
           completion: llm.Completion) -> bool:
    def write() -> bool:
        exists = session.execute(select(AiSuggestion.id).where(AiSuggestion.item_id == item_id)).first()
        if exists is not None:
            return False
        session.add(AiSuggestion(project_id=project_id, item_id=item_id, kind=conf["kind"], model=conf["model"],
                                 content=content, provenance=completion.provenance(), created_at=utcnow()))
        session.flush()
        return True

    return bool(run_write(session, write))


def shown(session: Session, project: Project, item_id: int, now: datetime) -> dict | None:
    """What a new lease on the item shows (inside the lease's unit), recorded as is; None when
    the item shows no AI help (no suggestion yet, no model-made claim split)."""
    record = None
    if config(project) is not None:
        row = session.execute(select(AiSuggestion).where(AiSuggestion.item_id == item_id)).scalar_one_or_none()
        if row is not None:
            record = {"kind": row.kind, "endpoint": row.model,
                      "model": (row.provenance or {}).get("model") or row.model,
                      "suggestion": row.content, "generated_at": iso(row.created_at), "shown_at": iso(now),
                      "action": None, "edit_distance": None, "distance_unit": None}
    split = _claim_split(session, project, item_id, now)
    if split is None:
        return record
    if record is None:
        record = {"kind": "claims", "endpoint": split["endpoint"], "model": split["model"],
                  "suggestion": {"claims": split["claims"]}, "generated_at": split["generated_at"],
                  "shown_at": split["shown_at"], "action": None, "edit_distance": None, "distance_unit": None}
    return {**record, "claim_split": split}


def _claim_split(session: Session, project: Project, item_id: int, now: datetime) -> dict | None:
    """The model-made claim split a fact-check item shows, or None (claims imported as given)."""
    if project.task_type != "factcheck":
        return None
    item = session.get(Item, item_id)
    made = ((item.meta or {}).get("claims_generation") if item is not None else None) or None
    if not isinstance(made, dict):
        return None
    return {"endpoint": made.get("endpoint_name"), "model": made.get("model"), "generated_at": made.get("called_at"),
            "shown_at": iso(now), "claims": list(item.payload.get("claims") or []) if item is not None else [],
            "action": None, "edit_distance": None, "distance_unit": "claims", "changes": None}


def split_outcome(split: dict, response: dict) -> dict:
    """What the trainer did to a shown claim split (see the module)."""
    proposed = list(split["claims"])
    finals = claim_edits.final_claims(proposed, response)
    distance = Levenshtein.distance([claim_edits.normalise(t) for t in proposed],
                                    [claim_edits.normalise(c["text"]) for c in finals])
    kept_any = not finals or any(c["from"] for c in finals)
    action = ("accepted" if distance == 0 else "edited") if kept_any else "discarded"
    return {**split, "action": action, "edit_distance": distance, "distance_unit": "claims",
            "changes": claim_edits.changes(proposed, response)}


def outcome(spec: TaskTypeSpec, record: dict | None, response: dict, *, discarded: bool) -> dict | None:
    """The record with what the trainer did with the suggestion (and the claim split shown)."""
    if not record:
        return None
    split = split_outcome(record["claim_split"], response) if record.get("claim_split") else None
    if record["kind"] == "claims" and split is not None:
        return {**record, "action": split["action"], "edit_distance": split["edit_distance"],
                "distance_unit": "claims", "claim_split": split}
    suggested, given, unit = spec.suggestion_outcome(record["suggestion"], response)
    if unit == "characters":
        distance = Levenshtein.distance(str(suggested), str(given))
    else:
        distance = sum(a != b for a, b in zip(suggested, given, strict=False)) + abs(len(suggested) - len(given))
    action = "discarded" if discarded else ("accepted" if distance == 0 else "edited")
    out = {**record, "action": action, "edit_distance": distance, "distance_unit": unit}
    if split is not None:
        out["claim_split"] = split
    return out


def trainer_suggestion(record: dict | None) -> dict | None:
    """What the trainer's page shows: the suggestion and its kind, never the model."""
    if not record:
        return None
    return {"kind": record["kind"], **record["suggestion"]}


# The shapes exports write (pure rules, in the domain).
export_record = ai_assistance_record
summary = ai_assistance_summary
