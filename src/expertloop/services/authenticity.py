"""Authenticity checks with due process: record the evidence at submit, flag by thresholds,
let staff decide with a note, tell the expert, take their reply. Nothing here touches pay.

The evidence of a judgment is what the client recorded per free-text field (aggregates only,
see :mod:`expertloop.domain.authenticity`) and each answer's similarity to the item's model
outputs. A flag waits in the project's review queue (``flagged``) until staff decide
``cleared`` (the expert's own work) or ``upheld`` (not their own writing); the expert sees every
check about them, the decision and its note, and may reply at any time. A reply never changes
a decision (staff are notified of it); only staff reopen a flag, by deciding again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..domain import authenticity as rules
from ..domain.errors import NotFound, PermissionDenied, ValidationFailed
from ..domain.policies import Actor, require_expert, require_staff
from ..storage.orm import Assignment, AuthenticityCheck, Expert, Item, Notification, Project
from . import audit, uow
from .clock import utcnow
from .projects import load_project
from .uow import reads, writes
from .views import iso

MAX_NOTE_CHARS = 4000


def thresholds(settings: Settings) -> rules.Thresholds:
    return rules.Thresholds(unkeyed_share=settings.authenticity_unkeyed_share,
                            similarity=settings.authenticity_similarity,
                            min_chars=settings.authenticity_min_chars)


def record(session: Session, a: Assignment, item: Item, signals: dict | None, settings: Settings,
           now: datetime) -> AuthenticityCheck | None:
    """Inside the submit's unit: store the evidence of ``a`` (already parsed signals) and its
    flags; nothing when the answer has no free text and no signals came."""
    outputs = rules.model_outputs(item.payload, item.meta)
    sims, reasons = rules.assess(signals, a.response, outputs, thresholds(settings))
    if not signals and not sims:
        return None
    check = AuthenticityCheck(assignment_id=a.id, project_id=a.project_id, expert_id=a.expert_id,
                              signals=signals or None, similarity=sims or None, reasons=reasons or None,
                              status=rules.initial_status(signals, reasons), created_at=now)
    session.add(check)
    if reasons:
        kinds = ", ".join(sorted({r["kind"].replace("_", " ") for r in reasons}))
        session.add(Notification(kind="authenticity_flag", project_id=a.project_id, expert_id=a.expert_id,
                                 item_id=a.item_id, created_at=now,
                                 message=f"assignment {a.id} flagged for review ({kinds})"))
    return check


def check_view(c: AuthenticityCheck, *, expert_name: str | None = None, response: dict | None = None) -> dict:
    view = {"id": c.id, "assignment_id": c.assignment_id, "project_id": c.project_id, "expert_id": c.expert_id,
            "status": c.status, "signals": c.signals or {}, "similarity": c.similarity or {},
            "reasons": c.reasons or [], "decided_by": c.decided_by, "decided_at": iso(c.decided_at),
            "decision_note": c.decision_note, "expert_reply": c.expert_reply, "replied_at": iso(c.replied_at),
            "created_at": iso(c.created_at),
            "human_authenticated": rules.human_authenticated(c.status, bool(c.signals))}
    if expert_name is not None:
        view["expert_name"] = expert_name
    if response is not None:
        view["response"] = response
    return view


def export_view(c: AuthenticityCheck | None) -> dict:
    """The ``authenticity`` of an exported record (:func:`~expertloop.domain.authenticity.export_view`)."""
    if c is None:
        return rules.export_view(None, None, None, None)
    return rules.export_view(c.status, c.signals, c.similarity, c.reasons)


@reads
def review_queue(session: Session, actor: Actor, project_id: int, *, status: str | None = rules.FLAGGED,
                 limit: int = 100) -> list[dict]:
    """A project's checks (default: those awaiting a decision), oldest first, with the answer."""
    require_staff(actor, "review authenticity flags")
    load_project(session, project_id)
    if status is not None and status not in rules.STATUSES:
        raise ValidationFailed(f"must be one of {', '.join(rules.STATUSES)}", loc="status")
    q = (select(AuthenticityCheck, Expert.name, Assignment.response)
         .join(Expert, Expert.id == AuthenticityCheck.expert_id)
         .join(Assignment, Assignment.id == AuthenticityCheck.assignment_id)
         .where(AuthenticityCheck.project_id == project_id).order_by(AuthenticityCheck.id)
         .limit(min(max(limit, 1), 1000)))
    if status is not None:
        q = q.where(AuthenticityCheck.status == status)
    return [check_view(c, expert_name=name, response=resp) for c, name, resp in session.execute(q)]


@reads
def counts(session: Session, actor: Actor, project_id: int) -> dict[str, int]:
    require_staff(actor, "review authenticity flags")
    rows = session.execute(select(AuthenticityCheck.status, func.count()).where(
        AuthenticityCheck.project_id == project_id).group_by(AuthenticityCheck.status)).all()
    return {status: n for status, n in rows}


def _load(session: Session, check_id: int) -> AuthenticityCheck:
    if isinstance(check_id, bool) or not isinstance(check_id, int) or not 0 < check_id < 2**31:
        raise ValidationFailed("must be a positive integer id", loc="check_id")
    c = session.get(AuthenticityCheck, check_id)
    if c is None:
        raise NotFound(f"authenticity check {check_id} not found")
    return c


@reads
def get_check(session: Session, actor: Actor, check_id: int) -> dict:
    """One check: staff see any, an expert only their own."""
    c = _load(session, check_id)
    if not actor.is_staff and actor.expert_id != c.expert_id:
        raise NotFound(f"authenticity check {check_id} not found")
    a = session.get_one(Assignment, c.assignment_id)
    return check_view(c, response=a.response)


def _text(value: object, loc: str, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed("is required", loc=loc)
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTE_CHARS:
        raise ValidationFailed(f"must be text of at most {MAX_NOTE_CHARS} characters", loc=loc)
    return value.strip()


@writes
def decide(session: Session, actor: Actor, check_id: int, outcome: object, note: object = None, *,
           now: datetime | None = None) -> dict:
    """Staff decide a flagged check: ``cleared`` or ``upheld``, with a note the expert reads
    (required when upheld). The expert is notified; pay is left as it is."""
    require_staff(actor, "decide authenticity flags")
    if outcome not in rules.DECISIONS:
        raise ValidationFailed(f"must be one of {', '.join(rules.DECISIONS)}", loc="outcome")
    text = _text(note, "note", required=outcome == rules.UPHELD)
    c = _load(session, check_id)
    if c.status not in (rules.FLAGGED, rules.CLEARED, rules.UPHELD):
        raise ValidationFailed(f"check {c.id} was not flagged (it is {c.status}); there is nothing to decide",
                               loc="check_id")
    now = now or utcnow()
    c.status, c.decision_note, c.decided_at = str(outcome), text, now
    c.decided_by = actor.role.value if actor.expert_id is None else f"{actor.role.value}:{actor.expert_id}"
    what = "cleared: your own work" if outcome == rules.CLEARED else "upheld: not counted as your own writing"
    session.add(Notification(kind="authenticity_decision", project_id=c.project_id, expert_id=c.expert_id,
                             created_at=now,
                             message=f"authenticity check {c.id} on assignment {c.assignment_id} {what}"
                                     + (f" — {text}" if text else "") + "; pay is unchanged"))
    audit.record(session, actor, "authenticity.decided", project_id=c.project_id, target=f"check {c.id}",
                 detail={"outcome": c.status, "assignment_id": c.assignment_id, "expert_id": c.expert_id})
    session.flush()
    return check_view(c)


@writes
def reply(session: Session, actor: Actor, check_id: int, text: object, *, now: datetime | None = None) -> dict:
    """The expert's reply to a check about their work (their own only); staff see it in the queue
    and, for a decided flag, get a notification. The status is left as it is."""
    expert_id = require_expert(actor)
    c = _load(session, check_id)
    if c.expert_id != expert_id:
        raise NotFound(f"authenticity check {check_id} not found")
    if c.status not in (rules.FLAGGED, rules.CLEARED, rules.UPHELD):
        raise PermissionDenied(f"check {c.id} raised no flag; there is nothing to reply to")
    now = now or utcnow()
    c.expert_reply, c.replied_at = _text(text, "reply", required=True), now
    # The decision stands: a reply never reopens a flag (only staff do, by deciding again).
    # Staff are told, so a reply to a decided flag is read.
    if c.status != rules.FLAGGED:
        session.add(Notification(kind="authenticity_reply", project_id=c.project_id, expert_id=c.expert_id,
                                 created_at=now,
                                 message=f"reply to authenticity check {c.id} ({c.status}) on assignment "
                                         f"{c.assignment_id}; decide again to change the outcome"))
    session.flush()
    return check_view(c)


@reads
def open_flag_count(session: Session, actor: Actor) -> int:
    """How many flags on the calling expert's work wait for staff, or were upheld."""
    expert_id = require_expert(actor)
    return session.execute(select(func.count()).select_from(AuthenticityCheck).where(
        AuthenticityCheck.expert_id == expert_id,
        AuthenticityCheck.status.in_([rules.FLAGGED, rules.UPHELD]))).scalar_one()


@reads
def my_checks(session: Session, actor: Actor, *, flagged_only: bool = True) -> list[dict]:
    """The calling expert's checks (default: those that raised a flag), newest first."""
    expert_id = require_expert(actor)
    q = (select(AuthenticityCheck, Project.name).join(Project, Project.id == AuthenticityCheck.project_id)
         .where(AuthenticityCheck.expert_id == expert_id).order_by(AuthenticityCheck.id.desc()).limit(200))
    if flagged_only:
        q = q.where(AuthenticityCheck.reasons.is_not(None))
    out = []
    for c, project_name in session.execute(q):
        view = check_view(c)
        view["project"] = project_name
        out.append(view)
    return out


# --- a model's own answer to each prompt, for the similarity check ------------------------------

REFERENCE_PURPOSE = "authenticity_reference"
MAX_REFERENCE_ITEMS = 10_000


@reads
def _items_without_reference(session: Session, actor: Actor | None, project_id: int, limit: int
                             ) -> list[tuple[int, list[dict]]]:
    """(item id, prompt messages) of the project's items with a prompt and no model answer yet."""
    if actor is not None:
        require_staff(actor, "fetch reference answers")
    load_project(session, project_id)
    out = []
    for item_id, payload, meta in session.execute(select(Item.id, Item.payload, Item.meta).where(
            Item.project_id == project_id).order_by(Item.id)):
        if (meta or {}).get("model_answer") or not isinstance(payload, dict):
            continue
        if isinstance(payload.get("prompt"), str):
            messages = [{"role": "user", "content": payload["prompt"]}]
        elif isinstance(payload.get("messages"), list):
            messages = [{"role": m.get("role"), "content": m.get("content")} for m in payload["messages"]
                        if isinstance(m, dict)]
        else:
            continue
        out.append((item_id, messages))
        if len(out) >= limit:
            break
    return out


def fetch_reference_answers(session: Session, actor: Actor | None, project_id: int, endpoint: str, *,
                            limit: int = 1000, progress: Callable[[int, int], None] | None = None) -> dict:
    """Ask model endpoint ``endpoint`` to answer each item's prompt (items that have none yet)
    and keep the answer in the item's metadata (``model_answer``, with ``model_answer_provenance``):
    later answers are compared with it. Model calls run between units; each answer is stored in
    its own small write unit, so a failure part-way keeps what was fetched."""
    from . import models

    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_REFERENCE_ITEMS:
        raise ValidationFailed(f"must be a whole number from 1 to {MAX_REFERENCE_ITEMS}", loc="limit")
    models.get_endpoint(session, endpoint)  # NotFound before any work
    todo = _items_without_reference(session, actor, project_id, limit)
    stored = 0
    for n, (item_id, messages) in enumerate(todo, 1):
        [completion] = models.call(session, endpoint, messages, purpose=REFERENCE_PURPOSE, project_id=project_id)

        def keep(item_id: int = item_id, completion: Any = completion) -> None:
            item = session.get_one(Item, item_id)
            item.meta = {**(item.meta or {}), "model_answer": completion.text,
                         "model_answer_provenance": completion.provenance()}

        uow.run_write(session, keep)
        stored += 1
        if progress is not None:
            progress(n, len(todo))
    return {"project_id": project_id, "endpoint": endpoint, "answers_stored": stored}
