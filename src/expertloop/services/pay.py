"""Earnings: what an expert has earned, by project and by ISO week, from the ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy.orm import Session

from ..domain.errors import NotFound, PermissionDenied
from ..domain.money import fmt_usd, from_cents
from ..domain.policies import Actor, can_read_expert
from ..storage import repositories as repo
from ..storage.orm import Expert
from .uow import reads


@reads
def earnings(session: Session, actor: Actor, expert_id: int) -> dict:
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own earnings")
    if session.get(Expert, expert_id) is None:
        raise NotFound(f"expert {expert_id} not found")
    entries = repo.expert_ledger(session, expert_id)
    by_project: dict[int | None, dict] = defaultdict(lambda: {"cents": 0, "minutes": Decimal(0), "tasks": 0})
    by_week: dict[str, int] = defaultdict(int)
    total = 0
    minutes = Decimal(0)
    for e in entries:
        total += e.amount_cents
        minutes += Decimal(e.minutes)
        p = by_project[e.project_id]
        p["cents"] += e.amount_cents
        p["minutes"] += Decimal(e.minutes)
        p["tasks"] += 1 if e.kind == "earning" else 0
        year, week, _ = e.created_at.isocalendar()
        by_week[f"{year}-W{week:02d}"] += e.amount_cents
    return {
        "expert_id": expert_id,
        "total_usd": fmt_usd(from_cents(total)),
        "minutes": str(minutes),
        "tasks": sum(p["tasks"] for p in by_project.values()),
        "by_project": [{"project_id": pid, "amount_usd": fmt_usd(from_cents(p["cents"])),
                        "minutes": str(p["minutes"]), "tasks": p["tasks"]}
                       for pid, p in sorted(by_project.items(), key=lambda kv: kv[0] or 0)],
        "by_week": [{"week": w, "amount_usd": fmt_usd(from_cents(c))} for w, c in sorted(by_week.items())],
    }
