"""What the rest of a project will cost: the forecast from its pilot (``quality.forecast``).

Reads the project's stored consensus fit (the ``refit_consensus`` job's; never fitted here, so a
request does work proportional to the project's trainers, not its judgments), each trainer's
counted judgments and mean active seconds, and their pay rate (the project's rate card, else
the expert's own). Items with no counted judgment yet are the ones left. Forecasts one mix per
scenario: the pilot's mix of trainers and, when the project has tiers, each tier's members alone.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, ValidationFailed
from ..domain.money import from_cents
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..quality.forecast import TrainerPool, accuracy_for_alpha, forecast, parse_target
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item, Project, QualitySnapshot
from .assignments import rate_cents
from .clock import utcnow
from .consensus import TrainerModel, latest_consensus, trainer_model, trainer_reliability
from .dashboards import LIVE_JUDGMENTS
from .projects import expert_tiers, load_project
from .uow import reads
from .views import iso

MAX_DRAWS = 500
DEFAULT_DRAWS = 100
SIM_ITEMS = 1000
# Trainers' errors on one item go together; the consensus weighs agreement by the same rho
# (BayesianDawidSkene's default), and so does the forecast (bench/forecast_backtest.py).
ERROR_CORRELATION = 0.2


def _usd(cents: int) -> str:
    return str(from_cents(cents))


@reads
def project_forecast(session: Session, actor: Actor, project_id: int, target: str = "accuracy=0.95", *,
                     draws: int = DEFAULT_DRAWS, seed: int = 0, fresh: bool = False) -> dict:
    """Judgments, expert-hours and dollars to bring the project's remaining items to ``target``.

    ``fresh=True`` (the CLI, outside any request) fits the consensus now when the stored fit is
    missing or behind; requests read the stored fit only."""
    require_staff(actor, "read forecasts")
    project = load_project(session, project_id)
    try:
        kind, value = parse_target(target)
    except ValueError as exc:
        raise ValidationFailed(str(exc), loc="target") from None
    if not 1 <= draws <= MAX_DRAWS:
        raise ValidationFailed(f"must be between 1 and {MAX_DRAWS}, got {draws}", loc="draws")
    model = _fresh_model(session, project) if fresh else trainer_model(session, project_id)
    if model is None or not model.trainer_ids:
        raise Conflict(f"project {project_id} has no consensus fit yet: the refit_consensus job makes one after "
                       "the first submissions; wait for it (a worker runs it) and ask again")
    pilot, pilot_as_of = _pilot(session, project_id, model)
    ids = [t for t in model.trainer_ids if t in pilot]
    if not ids:
        raise Conflict(f"project {project_id} has no counted judgments behind its consensus fit; "
                       "wait for the refit_consensus job and ask again")
    experts = {e.id: e for e in session.execute(select(Expert).where(Expert.id.in_(ids))).scalars()}
    rows = [model.trainer_ids.index(t) for t in ids]
    conf = np.clip(np.asarray(model.confusions, dtype=float)[rows], 0.0, None)
    conf = conf / conf.sum(axis=2, keepdims=True)
    rates = [rate_cents(project, experts[t]) if t in experts else 0 for t in ids]
    pool = TrainerPool(confusions=conf, share=[pilot[t][0] for t in ids], seconds=[pilot[t][1] for t in ids],
                       rate_cents=rates, evidence=[model.trainer_judgments.get(t, 0) for t in ids])
    remaining = int(session.execute(select(func.count()).select_from(Item).where(
        Item.project_id == project_id, *repo.UNJUDGED_NON_GOLD)).scalar_one())
    adaptive = project.adaptive_overlap or {}
    min_j = max(1, int(adaptive.get("min", 1)))
    max_j = max(min_j, int(adaptive.get("max", max(5, project.overlap))))

    mixes: list[tuple[str, list[bool]]] = [("pilot mix", [True] * len(ids))]
    for tier in (project.tiers or {}).get("tiers") or []:
        members = [t in experts and tier["name"] in expert_tiers(project, experts[t], set()) for t in ids]
        mixes.append((f"{tier['name']} only", members))
    prior = np.asarray(model.class_prior, dtype=float)
    out = []
    for name, members in mixes:
        if not any(members):
            out.append({"mix": name, "trainers": 0, "note": "no trainer of this tier has been measured yet"})
            continue
        f = forecast(pool.subset(members), prior, remaining, (kind, value), min_judgments=min_j,
                     max_judgments=max_j, n_draws=draws, n_sim_items=SIM_ITEMS, random_state=seed,
                     error_correlation=ERROR_CORRELATION)
        row = {"mix": name, "trainers": int(sum(members)), **f.to_dict(), "median": f.details["median"]}
        row["cost_usd"] = {"mean": _usd(f.cost_cents[0]), "low": _usd(f.cost_cents[1]),
                           "high": _usd(f.cost_cents[2])}
        out.append(row)
    needed = accuracy_for_alpha(value, model.class_prior) if kind == "alpha" else value
    target_out = {"kind": kind, "value": value, "accuracy": round(needed, 4)}
    summary = {"target": target_out, **(_summary(out[0], kind, min_j, max_j) if out and out[0]["trainers"] else {})}
    spent = repo.project_spent_cents(session, project_id)
    budget_left = None if project.budget_cents is None else project.budget_cents - spent
    return {"project_id": project_id, "remaining_items": remaining,
            "min_judgments": min_j, "max_judgments": max_j, "draws": draws, "interval": 0.9,
            "fitted_at": iso(model.fitted_at), "pilot_as_of": pilot_as_of, "trainers": len(ids),
            "budget_cents": project.budget_cents, "spent_cents": int(spent),
            "budget_left_cents": budget_left,
            "budget_left_usd": None if budget_left is None else _usd(budget_left),
            **summary, "mixes": out}


def _pilot(session: Session, project_id: int, model: TrainerModel) -> tuple[dict[int, tuple[int, float]], str | None]:
    """Each fitted trainer's counted judgments and mean active seconds, and as of when: read
    from the quality snapshot's scorecards on a project of more than ``LIVE_JUDGMENTS``
    judgments (grouping a million judgments by trainer takes seconds), counted now otherwise
    (``None``: now)."""
    if sum(model.trainer_judgments.values()) > LIVE_JUDGMENTS:
        row = session.execute(select(QualitySnapshot.report["trainers"], QualitySnapshot.computed_at)
                              .where(QualitySnapshot.project_id == project_id)).first()
        cards = {c.get("expert_id"): c for c in (row[0] if row is not None and isinstance(row[0], list) else [])
                 if isinstance(c, dict)}
        if row is not None and all(isinstance(cards.get(t), dict) and "mean_active_seconds" in cards[t]
                                   for t in model.trainer_ids):
            return ({t: (int(cards[t]["judgments"]), float(cards[t]["mean_active_seconds"]))
                     for t in model.trainer_ids}, iso(row[1]))
    return ({int(e): (int(n), float(s or 0.0)) for e, n, s in session.execute(
        select(Assignment.expert_id, func.count(), func.avg(Assignment.active_seconds))
        .where(Assignment.project_id == project_id, repo.counted_judgment())
        .group_by(Assignment.expert_id)).all()}, None)


def _summary(pilot: dict, kind: str, min_j: int, max_j: int) -> dict:
    """The pilot mix at the top level: median and 90% interval (what scripts read first)."""
    med = pilot["median"]

    def tri(name: str, centre: float, digits: int) -> dict:
        return {"low": round(pilot[name]["low"], digits), "median": round(centre, digits),
                "high": round(pilot[name]["high"], digits)}

    return {"reached": pilot["reach_probability"] >= 0.5, "stop_confidence": pilot["threshold"],
            "mean_overlap": round(pilot["judgments_per_item"]["mean"], 2), "min_overlap": min_j, "max_overlap": max_j,
            "accuracy": tri("accuracy", med["accuracy"], 4), "judgments": tri("judgments", med["judgments"], 0),
            "expert_hours": tri("hours", med["hours"], 1),
            "cost_cents": {"low": pilot["cost_cents"]["low"], "median": med["cost_cents"],
                           "high": pilot["cost_cents"]["high"]}}


def _fresh_model(session: Session, project: Project) -> TrainerModel | None:
    """The per-trainer part of the consensus as it stands now (fitted here when the stored fit is
    missing or behind): for the CLI only."""
    consensus = latest_consensus(session, project.id, TaskType(project.task_type), fresh=True)
    if consensus is None:
        return None
    m = consensus.model
    ids = [int(t) for t in m.trainer_ids_]
    evidence = {t: n for t, (_r, n) in trainer_reliability(consensus).items()}
    return TrainerModel(classes=[str(c) for c in m.classes_], trainer_ids=ids,
                        confusions=np.asarray(m.confusions_, dtype=float),
                        class_prior=np.asarray(m.class_prior_, dtype=float),
                        trainer_judgments={t: evidence.get(t, 0) for t in ids}, reliability={}, judgments=0,
                        last_assignment_id=None, fitted_at=utcnow())
