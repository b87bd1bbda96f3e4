"""The expert's own view of the quality decisions about them, and gold disputes.

For one project a trainer sees why they stand where they stand:

- **gold**: every gold item they answered (after they answered it), their answer and their score
  — so a missed item can be seen, and disputed. The expected answer of an item still in the gold
  pool (not retired) never reaches a trainer: it would be the answer key for the next trainer it
  is served to. Once staff retire the item it is shown;
- **agreement with consensus** and **reliability**, from the project's stored quality report;
- **retest agreement** (:mod:`expertloop.services.retests`);
- **flags and outcomes**: pauses by the quality floor (with their reasons and whether lifted),
  and review outcomes with the reviewers' feedback;
- their **disputes** and how they were decided.

A dispute of a gold item goes to an adjudicator (staff). Upheld, it corrects the item's gold
(the old answer is kept on the dispute) and every score that used it is computed again: the
consensus refit job is queued (it recomputes the stored quality report, gold accuracy
included), the quality floor reads gold afresh at each submit, and the decision answers with
each affected trainer's gold accuracy as it now stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.checks import text_problem
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.grading import gold_score, gold_tally
from ..domain.policies import Actor, can_read_expert, require_staff
from ..domain.projects import TaskType
from ..domain.responses import MAX_TEXT, normalise_gold
from ..storage import repositories as repo
from ..storage.orm import (
    Assignment,
    Expert,
    GoldDispute,
    Item,
    Notification,
    Project,
    ProjectPause,
    QualitySnapshot,
)
from . import audit, routing
from .clock import utcnow
from .projects import load_project
from .retests import retest_agreement
from .uow import reads, writes
from .views import iso

DECISIONS = ("uphold", "reject")
_DONE = [AssignmentState.submitted.value, AssignmentState.accepted.value, AssignmentState.rejected.value]


def gold_revealed(item: Item | None) -> bool:
    """Whether a trainer may read an item's gold answer: only once it left the gold pool (retired),
    so it can no longer be served to anyone."""
    return item is not None and item.retired_at is not None


def dispute_view(d: GoldDispute, *, staff: bool, revealed: bool = False) -> dict:
    """A dispute; the gold answers in it only for staff, or once the item left the gold pool."""
    view = {"id": d.id, "project_id": d.project_id, "item_id": d.item_id, "assignment_id": d.assignment_id,
            "expert_id": d.expert_id, "reason": d.reason, "state": d.state, "decision_note": d.decision_note,
            "created_at": iso(d.created_at), "decided_at": iso(d.decided_at)}
    if staff or revealed:
        view.update(old_gold=d.old_gold, new_gold=d.new_gold)
    if staff:
        view["decided_by"] = d.decided_by
    return view


@reads
def standing(session: Session, actor: Actor, expert_id: int, project_id: int) -> dict:
    """Why an expert stands where they stand in a project (their own, or staff: anyone's)."""
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own standing")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    project = load_project(session, project_id)
    disputes = {d.assignment_id: d for d in session.execute(select(GoldDispute).where(
        GoldDispute.project_id == project.id, GoldDispute.expert_id == expert_id)).scalars()}
    gold_rows = session.execute(
        select(Assignment.id, Assignment.item_id, Assignment.response, Assignment.submitted_at, Item.gold,
               Item.retired_at)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.project_id == project.id, Assignment.expert_id == expert_id, repo.counted_judgment(),
               Item.gold.is_not(None)).order_by(Assignment.submitted_at, Assignment.id)).all()
    gold = []
    for aid, item_id, response, submitted_at, expected, retired_at in gold_rows:
        score = gold_score(project.task_type, response or {}, expected)
        d = disputes.get(aid)
        shown = actor.is_staff or retired_at is not None  # never the answer key of an item still served
        gold.append({"assignment_id": aid, "item_id": item_id, "submitted_at": iso(submitted_at),
                     "your_answer": response, "expected": expected if shown else None, "expected_shown": shown,
                     "score": None if score is None else round(score, 4),
                     "missed": score is not None and score < 1,
                     "dispute": None if d is None else {"id": d.id, "state": d.state}})
    n_gold, credit = gold_tally(project.task_type, [(r[2] or {}, r[4]) for r in gold_rows])
    card = _stored_card(session, project.id, expert_id)
    pauses = session.execute(select(ProjectPause).where(ProjectPause.project_id == project.id,
                                                        ProjectPause.expert_id == expert_id)
                             .order_by(ProjectPause.id)).scalars()
    reviewed = session.execute(
        select(Assignment.id, Assignment.item_id, Assignment.state, Assignment.review_feedback,
               Assignment.original_response.is_not(None), Assignment.reviewed_at)
        .where(Assignment.project_id == project.id, Assignment.expert_id == expert_id,
               Assignment.reviewed_at.is_not(None)).order_by(Assignment.reviewed_at)).all()
    return {
        "expert_id": expert_id, "project_id": project.id, "project_name": project.name,
        "gold": {"answered": n_gold, "credit": credit,
                 "accuracy": round(credit / n_gold, 4) if n_gold else None, "items": gold},
        "agreement_with_consensus": card.get("agreement_with_consensus"),
        "reliability": card.get("reliability"), "reliability_interval": card.get("reliability_interval"),
        "consensus_computed": card.get("computed_at"),
        "retest": retest_agreement(session, project, expert_id).get(expert_id),
        "flags": [{"kind": "paused", "reason": p.reason, "created_at": iso(p.created_at),
                   "lifted_at": iso(p.lifted_at), "outcome": "lifted" if p.lifted_at else "in force"}
                  for p in pauses] + [{"kind": f["kind"], "reason": _flag_reason(f),
                                       "created_at": None, "lifted_at": None, "outcome": "noted, no action"}
                                      for f in card.get("flags", []) if isinstance(f, dict) and "kind" in f],
        "reviews": [{"assignment_id": aid, "item_id": iid, "outcome": _outcome(st, ed), "feedback": fb,
                     "reviewed_at": iso(at)} for aid, iid, st, fb, ed, at in reviewed],
        "disputes": [dispute_view(d, staff=actor.is_staff, revealed=gold_revealed(session.get(Item, d.item_id)))
                     for d in disputes.values()],
    }


FLAG_WORDS = {"too_fast": "many submissions much faster than the item's typical time",
              "position_bias": "chose the answer shown first more often than chance",
              "length_bias": "preferred the longer answer more often than others did",
              "leniency": "scored higher than other trainers on the same items",
              "severity": "scored lower than other trainers on the same items"}


def _outcome(state: str, edited: bool) -> str:
    return "rejected" if state == AssignmentState.rejected.value else ("edited" if edited else "accepted")


def _flag_reason(flag: dict) -> str:
    words = FLAG_WORDS.get(flag["kind"], flag["kind"].replace("_", " "))
    return f"{words} (over {flag['n']} judgments)" if "n" in flag else words


def _stored_card(session: Session, project_id: int, expert_id: int) -> dict:
    row = session.execute(select(QualitySnapshot.report, QualitySnapshot.computed_at)
                          .where(QualitySnapshot.project_id == project_id)).first()
    if row is None or not row[0]:
        return {}
    for card in row[0].get("trainers") or []:
        if card.get("expert_id") == expert_id:
            return {**card, "computed_at": iso(row[1])}
    return {}


@writes
def open_dispute(session: Session, actor: Actor, assignment_id: int, reason: object, *,
                 now: datetime | None = None) -> dict:
    """The expert disputes the gold answer of an item they answered."""
    a = session.get(Assignment, assignment_id)
    if a is None or actor.expert_id is None or a.expert_id != actor.expert_id:
        raise NotFound(f"assignment {assignment_id} not found")
    if a.state not in _DONE:
        raise Conflict(f"assignment {a.id} is {a.state}; only answered gold items can be disputed")
    item = session.get_one(Item, a.item_id)
    if item.gold is None:
        raise Conflict(f"item {item.id} has no gold answer to dispute")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed("is required: say why the expected answer is wrong", loc="reason")
    if len(text) > MAX_TEXT or text_problem(text) is not None:
        raise ValidationFailed(f"must be text of at most {MAX_TEXT} characters", loc="reason")
    if session.execute(select(GoldDispute.id).where(GoldDispute.assignment_id == a.id)).first() is not None:
        raise Conflict(f"assignment {a.id} is disputed already")
    d = GoldDispute(project_id=a.project_id, item_id=item.id, assignment_id=a.id, expert_id=a.expert_id,
                    reason=text, state="open", old_gold=item.gold, created_at=now or utcnow())
    session.add(d)
    session.flush()
    return dispute_view(d, staff=False)


@reads
def list_disputes(session: Session, actor: Actor, *, state: str | None = "open",
                  project_id: int | None = None) -> list[dict]:
    require_staff(actor, "adjudicate disputes")
    q = select(GoldDispute).order_by(GoldDispute.id)
    if state:
        q = q.where(GoldDispute.state == state)
    if project_id is not None:
        q = q.where(GoldDispute.project_id == project_id)
    return [dispute_view(d, staff=True) for d in session.execute(q.limit(1000)).scalars()]


@writes
def decide_dispute(session: Session, actor: Actor | None, dispute_id: int, decision: str, *,
                   gold: object = None, note: object = None, now: datetime | None = None) -> dict:
    """Uphold (with the corrected gold) or reject a dispute. Upheld: the item's gold changes, every
    open dispute of that item is decided with it, and every score that used it is recomputed."""
    if actor is not None:
        require_staff(actor, "adjudicate disputes")
    if decision not in DECISIONS:
        raise ValidationFailed(f"must be one of {', '.join(DECISIONS)}; got {str(decision)[:40]!r}", loc="decision")
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > MAX_TEXT or (text and text_problem(text) is not None):
        raise ValidationFailed(f"must be text of at most {MAX_TEXT} characters", loc="note")
    if decision == "reject" and not text:
        raise ValidationFailed("is required when rejecting: tell the expert why the gold stands", loc="note")
    d = session.get(GoldDispute, dispute_id)
    if d is None:
        raise NotFound(f"dispute {dispute_id} not found")
    if d.state != "open":
        raise Conflict(f"dispute {d.id} was already decided ({d.state})")
    now = now or utcnow()
    who = "operator" if actor is None else f"{actor.role.value}:{actor.expert_id or actor.token_id or ''}"
    rescored: list[dict] = []
    if decision == "reject":
        d.state, d.decision_note, d.decided_by, d.decided_at = "rejected", text or None, who, now
    else:
        if gold is None:
            raise ValidationFailed("is required when upholding: the corrected gold answer", loc="gold")
        project = session.get_one(Project, d.project_id)
        repo.lock_item(session, d.item_id)
        item = session.get_one(Item, d.item_id)
        corrected = normalise_gold(gold, project.task_type, project.options, item.payload, "gold")
        old = item.gold
        item.gold = corrected
        for other in session.execute(select(GoldDispute).where(GoldDispute.item_id == item.id,
                                                                GoldDispute.state == "open")).scalars():
            other.state, other.new_gold, other.decided_by, other.decided_at = "upheld", corrected, who, now
            other.decision_note = text or None
        from .reports import queue_forced_refresh, refresh_kind  # gold scores every report: recompute

        queue_forced_refresh(session, project.id, refresh_kind(project.task_type))
        audit.record(session, actor, "gold.changed", project_id=project.id, target=f"item:{item.id}",
                     detail={"dispute": d.id, "old": old, "new": corrected})
        session.flush()
        rescored = _rescore(session, project, item.id)
        for row in rescored:
            row["pause_lifted"] = _lift_gold_pause(session, actor, project, row["expert_id"], d.id, now)
    audit.record(session, actor, f"dispute.{d.state}", project_id=d.project_id, target=f"dispute:{d.id}",
                 detail={"note": text or None})
    out = dispute_view(d, staff=True)
    out["rescored"] = rescored
    return out


def _lift_gold_pause(session: Session, actor: Actor | None, project: Project, expert_id: int, dispute_id: int,
                     now: datetime) -> bool:
    """After a gold correction: a pause the gold floor made whose reason no longer holds (the
    trainer's gold record, read afresh, is not below the floor) is lifted — a paused trainer
    submits nothing, so no submit would ever read their gold again. The trainer and the
    managers are told; a pause for any other reason stays for a manager to decide."""
    floor = project.quality_floor or {}
    pause = session.execute(select(ProjectPause).where(
        ProjectPause.project_id == project.id, ProjectPause.expert_id == expert_id,
        ProjectPause.lifted_at.is_(None))).scalar_one_or_none()
    if pause is None or not pause.reason.startswith(routing.GOLD_FLOOR_REASON) or floor.get("gold_accuracy") is None:
        return False
    if routing.below_gold_floor(session, project, TaskType(project.task_type), expert_id, floor) is not None:
        return False
    pause.lifted_at = now
    name = session.get_one(Expert, expert_id).name
    session.add(Notification(kind="pause_lifted", project_id=project.id, expert_id=expert_id, created_at=now,
                             message=f"{name}'s pause from project {project.id} was lifted: dispute {dispute_id} "
                                     "corrected the gold it rested on, and their gold accuracy is no longer "
                                     "below the floor"))
    audit.record(session, actor, "pause.lifted", project_id=project.id, target=f"expert {expert_id}",
                 detail={"reason": pause.reason, "dispute": dispute_id})
    return True


def _rescore(session: Session, project: Project, item_id: int) -> list[dict]:
    """Gold accuracy in the project, recomputed now, of every trainer who answered the item."""
    experts = session.execute(select(Assignment.expert_id).where(
        Assignment.item_id == item_id, repo.counted_judgment()).distinct()).scalars().all()
    out = []
    for e in sorted(experts):
        rows = session.execute(select(Assignment.response, Item.gold).join(Item, Item.id == Assignment.item_id)
                               .where(Assignment.project_id == project.id, Assignment.expert_id == e,
                                      repo.counted_judgment(), Item.gold.is_not(None))).all()
        n, credit = gold_tally(project.task_type, [(r or {}, g) for r, g in rows])
        out.append({"expert_id": e, "gold_answered": n, "gold_accuracy": round(credit / n, 4) if n else None})
    return out
