"""The item browser (staff): a project's items with search and filters, one item with its
content as a trainer saw it, its judgments, consensus, reviews and history; retiring an item.

Listing is keyset-paginated by id (``after``): a page costs the same at item 50 as at item
500,000, and no page counts the whole project. Gold is part of these views because only staff
may read them (``require_staff``); a trainer never reaches them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.checks import text_problem
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.presentation import trainer_view
from ..domain.tasks import task_type as task_spec
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item, ItemEvent
from . import audit
from .clock import utcnow
from .oversight import item_history
from .projects import load_project
from .uow import reads, writes
from .views import iso

PAGE_SIZE = 50
# A filtered page (search, status, gold, flags, confidence) reads at most this many items in id
# order, so a rare match never scans a million-item project on one request: the page then ends
# early with ``next_after`` where the scan stopped ("search on").
SCAN_SPAN = 20_000
MAX_QUERY = 200
STATUSES = ("open", "complete", "retired")


@dataclass(frozen=True)
class ItemFilters:
    q: str = ""
    status: str = ""                  # open | complete | retired | "" (all)
    gold: str = ""                    # yes | no | ""
    flagged: bool = False             # escalated at least once
    max_confidence: float | None = None
    min_confidence: float | None = None

    def check(self) -> None:
        problems = []
        if (msg := text_problem(self.q)) is not None:
            problems.append(("q", msg))
        elif len(self.q) > MAX_QUERY:
            problems.append(("q", f"must be at most {MAX_QUERY} characters"))
        if self.status and self.status not in STATUSES:
            problems.append(("status", f"must be one of {', '.join(STATUSES)}"))
        if self.gold and self.gold not in ("yes", "no"):
            problems.append(("gold", "must be yes or no"))
        for name in ("max_confidence", "min_confidence"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 1:
                problems.append((name, "must be between 0 and 1 (e.g. 0.6)"))
        if problems:
            from ..domain.errors import Problem
            raise ValidationFailed([Problem(loc, msg) for loc, msg in problems])


def _escalated():
    return exists().where(ItemEvent.item_id == Item.id, ItemEvent.kind == "escalated")


@reads
def list_items(session: Session, actor: Actor, project_id: int, filters: ItemFilters, *,
               after: int = 0, limit: int = PAGE_SIZE) -> dict:
    """One page of a project's items (id order, after ``after``) and the id to continue after.

    A filtered page reads at most ``SCAN_SPAN`` items; when it stopped there before finding a
    full page, ``scanned_to`` is the last id it read (and ``next_after`` continues from it)."""
    require_staff(actor, "browse items")
    filters.check()
    project = load_project(session, project_id)
    cond: list[Any] = [Item.project_id == project.id, Item.id > after]
    if filters.status == "retired":
        cond.append(Item.retired_at.is_not(None))
    elif filters.status == "open":
        cond += [Item.retired_at.is_(None), Item.done_count < Item.target_overlap]
    elif filters.status == "complete":
        cond += [Item.retired_at.is_(None), Item.done_count >= Item.target_overlap]
    if filters.gold == "yes":
        cond.append(Item.gold.is_not(None))
    elif filters.gold == "no":
        cond.append(Item.gold.is_(None))
    if filters.flagged:
        cond.append(_escalated())
    if filters.max_confidence is not None:
        cond.append(Item.confidence <= filters.max_confidence)
    if filters.min_confidence is not None:
        cond.append(Item.confidence >= filters.min_confidence)
    if filters.q.strip():
        needle = filters.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond.append(or_(func.lower(Item.external_id).like(f"%{needle}%", escape="\\"),
                        func.lower(cast(Item.payload, String)).like(f"%{needle}%", escape="\\")))
    scanned_to = None
    if len(cond) > 2:  # filtered: bound the id range this request reads
        scanned_to = session.execute(select(Item.id).where(Item.project_id == project.id, Item.id > after)
                                     .order_by(Item.id).offset(SCAN_SPAN - 1).limit(1)).scalar()
        if scanned_to is not None:
            cond.append(Item.id <= scanned_to)
    rows = list(session.execute(select(Item.id, Item.external_id, Item.done_count, Item.target_overlap,
                                       Item.confidence, Item.retired_at, Item.gold.is_not(None).label("has_gold"),
                                       Item.required_tier, _escalated().label("flagged"))
                                .where(and_(*cond)).order_by(Item.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    previews = {}
    if rows:  # a short excerpt of the content, read for this page's items only
        for iid, payload in session.execute(select(Item.id, Item.payload).where(Item.id.in_([r.id for r in rows]))):
            previews[iid] = _preview(payload)
    items = [{"id": r.id, "external_id": r.external_id, "done": r.done_count, "target": r.target_overlap,
              "confidence": r.confidence, "retired_at": iso(r.retired_at), "gold": bool(r.has_gold),
              "flagged": bool(r.flagged), "required_tier": r.required_tier, "preview": previews.get(r.id, "")}
             for r in rows]
    next_after = items[-1]["id"] if more and items else scanned_to
    return {"project_id": project.id, "items": items, "next_after": next_after,
            "scanned_to": None if more else scanned_to}


def _preview(payload: dict) -> str:
    for key in ("prompt", "text", "question", "problem", "task"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:140]
    conv = payload.get("messages") or payload.get("conversation")
    if isinstance(conv, list) and conv and isinstance(conv[-1], dict):
        return str(conv[-1].get("content", ""))[:140]
    return ""


def _agreement(task_type: str, responses: list[dict]) -> tuple[float | None, dict[int, str]]:
    """Share of judgments agreeing with the most common answer (averaged over parts), and that
    answer per part: the plain majority, the same the consensus starts from."""
    spec = task_spec(task_type)
    per_part: dict[int, Counter] = {}
    for r in responses:
        for part, value in spec.categorical_answers(r):
            per_part.setdefault(part, Counter())[value] += 1
    if not per_part:
        return None, {}
    shares, majority = [], {}
    for part, counts in sorted(per_part.items()):
        value, n = counts.most_common(1)[0]
        majority[part] = value
        shares.append(n / sum(counts.values()))
    return sum(shares) / len(shares), majority


@reads
def item_detail(session: Session, actor: Actor, item_id: int) -> dict:
    """An item as trainers saw it, with every judgment, its reviews, consensus and history."""
    require_staff(actor, "read an item")
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    project = load_project(session, item.project_id)
    now = utcnow()
    rows = session.execute(select(Assignment, Expert.name).join(Expert, Expert.id == Assignment.expert_id)
                           .where(Assignment.item_id == item.id).order_by(Assignment.id)).all()
    reviewers = {}
    ids = {a.reviewed_by for a, _ in rows if a.reviewed_by}
    if ids:
        reviewers = dict(session.execute(select(Expert.id, Expert.name).where(Expert.id.in_(ids))).all())
    counted_ids = set(session.execute(select(Assignment.id).where(
        Assignment.item_id == item.id, repo.counted_judgment())).scalars())
    judgments: list[dict[str, Any]] = []
    for a, name in rows:
        state = a.state
        if state == AssignmentState.leased.value and a.lease_expires_at <= now:
            state = AssignmentState.expired.value
        judgments.append({"assignment_id": a.id, "expert_id": a.expert_id, "expert": name, "state": state,
                          "leased_at": iso(a.leased_at), "submitted_at": iso(a.submitted_at),
                          "active_seconds": a.active_seconds, "guidelines_version": a.guidelines_version,
                          "response": a.response, "original_response": a.original_response,
                          "review_feedback": a.review_feedback, "reviewed_at": iso(a.reviewed_at),
                          "reviewer": reviewers.get(a.reviewed_by) if a.reviewed_by else None,
                          "counted": a.id in counted_ids})
    counted = [j["response"] for j in judgments if j["counted"] and j["response"]]
    agreement, majority = _agreement(project.task_type, counted)
    first = next((a for a, _ in rows), None)
    return {"item_id": item.id, "project_id": project.id, "project": project.name, "task_type": project.task_type,
            "options": project.options or {}, "external_id": item.external_id,
            "seen": {"id": item.id, "external_id": item.external_id,
                     **trainer_view(project.task_type, item.payload, first.presentation if first else None)},
            "gold": item.gold, "retired_at": iso(item.retired_at), "priority": item.priority,
            "judgments": judgments, "agreement": agreement, "majority": majority, "confidence": item.confidence,
            "history": item_history(session, actor, item.id)}


@writes
def retire_item(session: Session, actor: Actor, item_id: int, *, reason: str | None = None,
                now: datetime | None = None) -> dict:
    """Retire an item: kept for the record, leased to nobody and left out of exports. Its
    live leases are released; judgments already made stay (and stay paid)."""
    require_staff(actor, "retire items")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise ValidationFailed("must be text of at most 2000 characters", loc="reason")
    repo.lock_item(session, item_id)
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    if item.retired_at is not None:
        raise Conflict(f"item {item_id} was already retired on {iso(item.retired_at)}")
    now = now or utcnow()
    item.retired_at = now
    result = session.execute(update(Assignment).where(Assignment.item_id == item.id, repo.live_lease_filter(now))
                             .values(state=AssignmentState.released.value))
    released = int(getattr(result, "rowcount", 0) or 0)
    session.add(ItemEvent(item_id=item.id, kind="retired", detail={"reason": reason or None, "by": actor.role.value},
                          created_at=now))
    session.flush()
    audit.record(session, actor, "item.retired", project_id=item.project_id, target=f"item {item.id}",
                 detail={"reason": reason or None, "released_leases": released})
    return {"item_id": item.id, "retired_at": iso(now), "released_leases": released}
