"""Plain-JSON views of stored objects. Gold answers appear only in staff views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.assignments import AssignmentState, is_live
from ..domain.experts import Degree
from ..domain.money import fmt_usd, from_cents
from ..domain.presentation import trainer_view
from ..domain.projects import TaskType
from ..storage.orm import Assignment, Expert, Item, Project


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def usd(cents: int | None) -> str | None:
    return None if cents is None else fmt_usd(from_cents(cents))


def expert_view(e: Expert) -> dict:
    return {
        "id": e.id, "name": e.name, "email": e.email, "degree": Degree(e.degree).name,
        "licenses": list(e.licenses or []), "domains": dict(e.domains or {}),
        "languages": list(e.languages or []), "hourly_rate_usd": usd(e.hourly_rate_cents),
        "country": e.country, "status": e.status, "verified_domains": dict(e.verified_domains or {}),
        "created_at": iso(e.created_at),
    }


def project_view(p: Project, *, staff: bool, progress: dict | None = None,
                 spent_cents: int | None = None) -> dict:
    view = {
        "id": p.id, "name": p.name, "task_type": p.task_type, "guidelines": p.guidelines,
        "guidelines_version": p.guidelines_version, "options": p.options,
        "requirements": p.requirements, "overlap": p.overlap, "lease_minutes": p.lease_minutes,
        "max_minutes_per_task": p.max_minutes_per_task, "adaptive_overlap": p.adaptive_overlap,
        "tiers": (p.tiers or {}).get("tiers"), "escalation_tier": (p.tiers or {}).get("escalation_tier"),
        "terms": p.terms, "terms_version": p.terms_version or 0, "status": p.status or "live",
        "created_at": iso(p.created_at),
    }
    if staff:
        # Gold policy and quality floor stay staff-only: knowing them helps game the gold.
        view.update(gold_rate=p.gold_policy, quality_floor=p.quality_floor,
                    budget_usd=usd(p.budget_cents), hourly_rate_usd=usd(p.hourly_rate_cents),
                    spent_usd=usd(spent_cents) if spent_cents is not None else None,
                    # Staff-only like gold: a trainer who knows the rates could tell a re-test.
                    review_sampling=p.review_sampling, retest_rate=p.retest_rate,
                    retest_after_hours=p.retest_after_hours,
                    # Model names stay with staff: trainers never learn which model wrote what.
                    candidates=(p.models or {}).get("candidates"), judge_first=(p.models or {}).get("judge_first"),
                    claims=(p.models or {}).get("claims"))
    if progress is not None:
        view["progress"] = progress
    return view


def effective_state(a: Assignment, now: datetime, *, staff: bool = True) -> str:
    if a.state == AssignmentState.retested.value and not staff:
        return AssignmentState.submitted.value  # a blind re-test stays unmarked for its trainer
    if a.state == AssignmentState.leased.value and not is_live(AssignmentState.leased, a.lease_expires_at, now):
        return AssignmentState.expired.value
    return a.state


def assignment_view(a: Assignment, item: Item, project: Project, now: datetime, *,
                    staff: bool, earned_cents: int | None = None) -> dict:
    """An assignment with its item. Trainers get the shuffled, gold-free view of the item, without
    the item's id or external id: a blind re-test serves an item they answered before, and
    nothing may link the two (the assignment id, new for every lease, names the task)."""
    task_type = TaskType(project.task_type)
    view: dict[str, Any] = {
        "assignment_id": a.id, "project_id": a.project_id, "task_type": project.task_type,
        "state": effective_state(a, now, staff=staff), "expert_id": a.expert_id,
        "item": trainer_view(task_type, item.payload, a.presentation),
        "leased_at": iso(a.leased_at), "lease_expires_at": iso(a.lease_expires_at),
        "submitted_at": iso(a.submitted_at), "active_seconds": round(a.active_seconds, 1),
        "guidelines_version": a.guidelines_version, "response": a.response,
        "review_feedback": a.review_feedback,
        # The AI suggestion shown with the task (never the model that made it, to a trainer).
        "ai_suggestion": ({"kind": a.ai_assistance["kind"], **a.ai_assistance["suggestion"]}
                          if a.ai_assistance else None),
    }
    shown = (a.presentation or {}).get("guidelines")
    if shown is not None:  # an experiment arm's guidelines, recorded when the lease was made
        view["guidelines"] = shown
    if earned_cents is not None:
        view["earned_usd"] = usd(earned_cents)
    if staff:
        view["item"]["id"] = item.id
        view["item"]["external_id"] = item.external_id
        view["item"]["gold"] = item.gold
        view["item"]["metadata"] = item.meta
        view["item"]["payload"] = item.payload
        view["presentation"] = a.presentation
        view["ai_assistance"] = a.ai_assistance
        view["retest_of"] = a.retest_of
    return view
