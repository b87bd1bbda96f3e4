"""Forecast of the judgments, expert-hours and dollars a target needs on the items left.

Reads the pilot: each trainer's reliability from the consensus, their share of the counted
judgments, their median active seconds and their pay rate; simulates adaptive overlap on the
items nobody has judged yet (``quality.forecast.forecast_adaptive``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..quality.forecast import forecast_adaptive
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item
from .assignments import rate_cents
from .consensus import latest_consensus
from .projects import load_project
from .uow import reads

MAX_OVERLAP = 5  # without adaptive overlap configured, how far the simulation may go


def parse_target(text: str) -> float:
    """``accuracy=0.95`` -> 0.95; anything else is refused, naming what is accepted."""
    name, _, value = text.partition("=")
    if name.strip() != "accuracy":
        raise ValidationFailed(f"target must be accuracy=P (0 < P < 1), got {text!r}; "
                               "agreement (alpha) targets are not forecast yet", loc="target")
    try:
        p = float(value)
    except ValueError:
        p = -1.0
    if not 0 < p < 1:
        raise ValidationFailed(f"target accuracy must be between 0 and 1, got {value!r}", loc="target")
    return p


@reads
def project_forecast(session: Session, actor: Actor, project_id: int, target: str, *,
                     fresh: bool = False, n_sims: int = 200) -> dict[str, Any]:
    require_staff(actor, "forecast projects")
    accuracy = parse_target(target)
    project = load_project(session, project_id)
    consensus = latest_consensus(session, project.id, TaskType(project.task_type), fresh=fresh)
    model = None if consensus is None else consensus.model
    if model is None or getattr(model, "reliability_", None) is None or len(model.classes_) < 2:
        raise Conflict(f"project {project.id} has no consensus with trainer reliabilities yet: "
                       "run a pilot with some overlap or gold first")
    seconds: dict[int, list[float]] = defaultdict(list)
    for expert_id, secs in session.execute(select(Assignment.expert_id, Assignment.active_seconds).where(
            Assignment.project_id == project.id, repo.counted_judgment())):
        seconds[expert_id].append(float(secs))
    trainers = [int(t) for t in model.trainer_ids_]
    experts = {e.id: e for e in session.execute(select(Expert).where(Expert.id.in_(trainers))).scalars()}
    rel, share, secs_, rate = [], [], [], []
    for t, r in zip(trainers, model.reliability_, strict=True):
        if t not in experts or not seconds.get(t):
            continue
        rel.append(float(r))
        share.append(len(seconds[t]))
        secs_.append(statistics.median(seconds[t]))
        rate.append(rate_cents(project, experts[t]) / 100)
    if not rel:
        raise Conflict(f"project {project.id} has no counted judgments to forecast from")
    remaining = session.execute(select(func.count()).select_from(Item).where(
        Item.project_id == project.id, Item.done_count == 0, Item.gold.is_(None))).scalar_one()
    ao = project.adaptive_overlap or {}
    lo = int(ao.get("min", project.overlap))
    hi = int(ao.get("max", max(project.overlap, MAX_OVERLAP)))
    f = forecast_adaptive(rel, share, secs_, rate, n_items=remaining, n_classes=len(model.classes_),
                          target_accuracy=accuracy, min_overlap=lo, max_overlap=hi, n_sims=n_sims)

    def interval(x: tuple[float, float, float], digits: int) -> dict[str, float]:
        return {"low": round(x[0], digits), "median": round(x[1], digits), "high": round(x[2], digits)}

    return {"project_id": project.id, "target": {"accuracy": accuracy}, "reached": f.reached,
            "remaining_items": remaining, "trainers": len(rel), "min_overlap": lo, "max_overlap": hi,
            "stop_confidence": f.stop_confidence, "mean_overlap": round(f.mean_overlap, 2),
            "accuracy": interval(f.accuracy, 4), "judgments": interval(f.judgments, 0),
            "expert_hours": interval(f.hours, 1),
            # an estimate, not money owed: whole cents, from the simulation's dollars
            "cost_cents": {k: round(v * 100) for k, v in interval(f.dollars, 2).items()},
            "interval": "5th-95th percentile over simulations; trainer reliabilities taken as known"}
