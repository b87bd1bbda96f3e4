"""Experiments inside a project: create, stop, randomise at lease time, report.

The arm of a unit (a trainer or an item) is drawn the first time it is leased work while the
experiment runs (stratified permuted blocks, ``quality.experiments.block_arm``), stored in
``experiment_units`` and copied onto every assignment made under it (``experiment_id``,
``experiment_arm``), so the report, the exports and any later analysis read the arm the work
was actually done under. The statistics are in ``quality.experiments``; definitions of every
outcome are in docs/experiments.md.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound
from ..domain.experiments import ArmKind, Unit, parse_experiment
from ..domain.experts import Degree
from ..domain.grading import categorical_answers, gold_score
from ..domain.money import to_cents
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..quality.experiments import bootstrap_ratio, holm, n_per_arm_two_proportions, two_proportions
from ..storage import repositories as repo
from ..storage.orm import Assignment, Experiment, ExperimentUnit, Expert, Item, LedgerEntry, Project
from . import audit
from .clock import utcnow
from .consensus import key_of, latest_consensus
from .projects import expert_tiers, load_project, passed_exams
from .uow import reads, writes

DETECT = 0.03          # the difference the power statement is about: 3 points
ALPHA = 0.05
POWER = 0.8
MIN_STRATUM = "all"


def experiment_view(e: Experiment) -> dict[str, Any]:
    return {"id": e.id, "project_id": e.project_id, "name": e.name, "unit": e.unit, "status": e.status,
            "arms": e.arms, "created_at": e.created_at.isoformat(),
            "stopped_at": e.stopped_at.isoformat() if e.stopped_at else None}


@writes
def create_experiment(session: Session, actor: Actor, project_id: int, data: Any) -> dict[str, Any]:
    """Start an experiment in a project (one running at a time)."""
    require_staff(actor, "run experiments")
    project = load_project(session, project_id)
    tiers = tuple(t["name"] for t in (project.tiers or {}).get("tiers", []))
    spec = parse_experiment(data, tiers=tiers)
    if running_experiment(session, project.id) is not None:
        raise Conflict(f"project {project.id} already runs an experiment; stop it first")
    e = Experiment(project_id=project.id, name=spec.name, unit=spec.unit.value,
                   arms=[a.to_json() for a in spec.arms], seed=secrets.randbits(48), status="running",
                   created_at=utcnow())
    session.add(e)
    session.flush()
    audit.record(session, actor, "experiment.started", project_id=project.id, target=e.name,
                 detail={"experiment_id": e.id, "unit": e.unit, "arms": [a["name"] for a in e.arms]})
    return experiment_view(e)


@writes
def stop_experiment(session: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    """Stop the running experiment: later leases carry no arm; the report stays readable."""
    require_staff(actor, "run experiments")
    load_project(session, project_id)
    e = running_experiment(session, project_id)
    if e is None:
        raise NotFound(f"project {project_id} runs no experiment")
    e.status = "stopped"
    e.stopped_at = utcnow()
    audit.record(session, actor, "experiment.stopped", project_id=project_id, target=e.name,
                 detail={"experiment_id": e.id})
    return experiment_view(e)


def running_experiment(session: Session, project_id: int) -> Experiment | None:
    return session.execute(select(Experiment).where(Experiment.project_id == project_id,
                                                    Experiment.status == "running")
                           .order_by(Experiment.id.desc()).limit(1)).scalar_one_or_none()


def latest_experiment(session: Session, project_id: int) -> Experiment | None:
    return session.execute(select(Experiment).where(Experiment.project_id == project_id)
                           .order_by(Experiment.id.desc()).limit(1)).scalar_one_or_none()


# -- at lease time -------------------------------------------------------------------------------
def _in_pool(session: Session, project: Project, expert: Expert, config: dict[str, Any]) -> bool:
    if "min_degree" in config and expert.degree < Degree[config["min_degree"]].value:
        return False
    if "tier" in config and config["tier"] not in expert_tiers(project, expert, passed_exams(session, expert.id)):
        return False
    if "domain" in config:
        level = max(int((expert.verified_domains or {}).get(config["domain"], -1)),
                    int((expert.domains or {}).get(config["domain"], -1)))
        if level < int(config["min_level"]):
            return False
    return True


def _stratum(item: Item) -> str:
    domain = (item.meta or {}).get("domain") if isinstance(item.meta, dict) else None
    return str(domain)[:100] if isinstance(domain, str) and domain.strip() else MIN_STRATUM


def assign_arm(session: Session, project: Project, expert: Expert, item: Item, a: Assignment,
               now: datetime) -> None:
    """Record the running experiment's arm on a new assignment and apply what the arm changes.

    Called inside the lease's write unit, after the item is claimed (its row is locked, or the
    SQLite write lock is held), so an item's first draw cannot race with itself."""
    e = running_experiment(session, project.id)
    if e is None:
        return
    from ..quality.experiments import block_arm

    arms = e.arms
    unit_id = expert.id if e.unit == Unit.trainer.value else item.id
    unit = session.execute(select(ExperimentUnit).where(ExperimentUnit.experiment_id == e.id,
                                                        ExperimentUnit.unit_id == unit_id)).scalar_one_or_none()
    if unit is None:
        if all(arm["kind"] == ArmKind.pool.value for arm in arms):
            chosen = next((arm["name"] for arm in arms if _in_pool(session, project, expert, arm["config"])), None)
            if chosen is None:
                return  # in none of the compared pools: not part of the experiment
            stratum, position = MIN_STRATUM, 0
        else:
            stratum = _stratum(item) if e.unit == Unit.item.value else MIN_STRATUM
            position = session.execute(select(func.count()).select_from(ExperimentUnit).where(
                ExperimentUnit.experiment_id == e.id, ExperimentUnit.stratum == stratum)).scalar_one()
            chosen = arms[block_arm(e.seed, stratum, position, len(arms))]["name"]
        unit = ExperimentUnit(experiment_id=e.id, unit_id=unit_id, stratum=stratum, position=position,
                              arm=chosen, assigned_at=now)
        session.add(unit)
    arm = next(x for x in arms if x["name"] == unit.arm)
    a.experiment_id, a.experiment_arm = e.id, arm["name"]
    presentation = dict(a.presentation or {})
    if arm["kind"] == ArmKind.guidelines.value:
        a.guidelines_version = int(arm["config"]["version"])
        presentation["guidelines"] = arm["config"]["guidelines"]  # what this trainer was shown
    elif arm["kind"] == ArmKind.page_variant.value:
        presentation["page_variant"] = arm["config"]["variant"]
    a.presentation = presentation or None


def arm_rate_cents(session: Session, a: Assignment) -> int | None:
    """The hourly rate a pay arm sets for this assignment, or None."""
    if a.experiment_id is None or a.experiment_arm is None:
        return None
    e = session.get(Experiment, a.experiment_id)
    if e is None:
        return None
    arm = next((x for x in e.arms if x["name"] == a.experiment_arm), None)
    if arm is None or arm["kind"] != ArmKind.pay.value:
        return None
    return to_cents(Decimal(arm["config"]["hourly_rate_usd"]))


# -- the report ----------------------------------------------------------------------------------
@dataclass
class _ArmData:
    agree: int = 0
    agree_n: int = 0
    gold_credit: float = 0.0
    gold_n: int = 0
    seconds: list[float] | None = None
    accepted: int = 0
    reviewed: int = 0
    judgments: int = 0
    units: int = 0


@reads
def project_experiment(session: Session, actor: Actor, project_id: int) -> dict[str, Any] | None:
    """The latest experiment's report for the project page (stored consensus), or None."""
    require_staff(actor, "read experiment reports")
    if latest_experiment(session, project_id) is None:
        return None
    return _report(session, actor, project_id, fresh=False)


@reads
def experiment_report(session: Session, actor: Actor, project_id: int, *, fresh: bool = False) -> dict[str, Any]:
    """See :func:`_report`; ``fresh`` refits the consensus when the stored fit is behind."""
    return _report(session, actor, project_id, fresh=fresh)


def _report(session: Session, actor: Actor, project_id: int, *, fresh: bool) -> dict[str, Any]:
    """Outcomes per arm of the project's latest experiment, each arm against the first (control):
    agreement with the consensus and with gold (two proportions), seconds per task and cost per
    item (bootstrap ratios), review acceptance (two proportions); Holm-adjusted across every test;
    and how many more judgments per arm a 3-point difference in agreement would need."""
    require_staff(actor, "read experiment reports")
    project = load_project(session, project_id)
    e = latest_experiment(session, project.id)
    if e is None:
        raise NotFound(f"project {project.id} has no experiment")
    names = [arm["name"] for arm in e.arms]
    data = {n: _ArmData(seconds=[]) for n in names}
    for arm, count in session.execute(select(ExperimentUnit.arm, func.count()).where(
            ExperimentUnit.experiment_id == e.id).group_by(ExperimentUnit.arm)):
        if arm in data:
            data[arm].units = count
    task_type = TaskType(project.task_type)
    consensus = latest_consensus(session, project.id, task_type, fresh=fresh)
    per_item = defaultdict(int)
    for item_id, n in session.execute(select(Assignment.item_id, func.count()).where(
            Assignment.project_id == project.id, repo.counted_judgment()).group_by(Assignment.item_id)):
        per_item[item_id] = n
    rows = session.execute(
        select(Assignment.id, Assignment.item_id, Assignment.experiment_arm, Assignment.response,
               Assignment.active_seconds, Item.gold)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.project_id == project.id, Assignment.experiment_id == e.id,
               repo.counted_judgment())).all()
    cost = dict(session.execute(select(LedgerEntry.assignment_id, LedgerEntry.amount_cents).where(
        LedgerEntry.project_id == project.id, LedgerEntry.kind == "earning",
        LedgerEntry.assignment_id.in_([r[0] for r in rows]) if rows else LedgerEntry.id < 0)).all())
    item_cost: dict[str, dict[int, int]] = {n: defaultdict(int) for n in names}
    for assignment_id, item_id, arm, response, seconds, gold in rows:
        if arm not in data:
            continue
        d = data[arm]
        d.judgments += 1
        assert d.seconds is not None
        d.seconds.append(float(seconds))
        item_cost[arm][item_id] += int(cost.get(assignment_id, 0))
        if per_item[item_id] >= 2 and consensus is not None:  # a lone judgment is its own consensus
            for part, value in categorical_answers(task_type, response):
                label = consensus.label(key_of(item_id, part))
                if label is not None:
                    d.agree_n += 1
                    d.agree += int(label == value)
        if gold is not None:
            score = gold_score(task_type, response, gold)
            if score is not None:
                d.gold_n += 1
                d.gold_credit += score
    reviewed = session.execute(
        select(Assignment.experiment_arm, Assignment.state, func.count())
        .where(Assignment.project_id == project.id, Assignment.experiment_id == e.id,
               Assignment.state.in_(("accepted", "rejected")), Assignment.reviewed_at.is_not(None))
        .group_by(Assignment.experiment_arm, Assignment.state)).all()
    for arm_name, state, count in reviewed:
        if arm_name in data:
            data[arm_name].reviewed += count
            data[arm_name].accepted += count if state == "accepted" else 0

    arms_out = []
    for n in names:
        d = data[n]
        costs = list(item_cost[n].values())
        arms_out.append({
            "arm": n, "units": d.units, "judgments": d.judgments,
            "agreement_with_consensus": _share(d.agree, d.agree_n),
            "gold_accuracy": _share(d.gold_credit, d.gold_n),
            "seconds_per_task": _mean(d.seconds or []), "cost_per_item_usd": _mean([c / 100 for c in costs]),
            "items": len(costs),
            "review_acceptance": _share(d.accepted, d.reviewed),
        })
    control = names[0]
    c = data[control]
    tests: list[dict[str, Any]] = []
    for n in names[1:]:
        d = data[n]
        for outcome, (xa, na, xb, nb) in (("agreement_with_consensus", (c.agree, c.agree_n, d.agree, d.agree_n)),
                                          ("gold_accuracy", (c.gold_credit, c.gold_n, d.gold_credit, d.gold_n)),
                                          ("review_acceptance", (c.accepted, c.reviewed, d.accepted, d.reviewed))):
            t = two_proportions(xa, na, xb, nb)
            tests.append({"arm": n, "outcome": outcome, "test": "two proportions (Newcombe interval, z-test)",
                          "estimate": _num(t.difference), "effect": "difference", "low": _num(t.low),
                          "high": _num(t.high), "p_value": _num(t.p_value), "n_control": na, "n_arm": nb})
        for outcome, a_vals, b_vals in (
                ("seconds_per_task", c.seconds or [], d.seconds or []),
                ("cost_per_item_usd", list(item_cost[control].values()), list(item_cost[n].values()))):
            r = bootstrap_ratio(a_vals, b_vals, random_state=e.seed % (2**32))
            tests.append({"arm": n, "outcome": outcome, "test": "bootstrap ratio of means",
                          "estimate": _num(r.ratio), "effect": "ratio", "low": _num(r.low), "high": _num(r.high),
                          "p_value": _num(r.p_value), "n_control": len(a_vals), "n_arm": len(b_vals)})
    adjusted = holm([t["p_value"] if t["p_value"] is not None else np.nan for t in tests])
    for row, p_adj in zip(tests, adjusted, strict=True):
        row["p_holm"] = _num(float(p_adj))
        row["significant"] = bool(row["p_holm"] is not None and row["p_holm"] < ALPHA)
    return {"experiment": experiment_view(e), "control": control, "arms": arms_out, "tests": tests,
            "power": _power(data, names), "randomisation": _randomisation_note(e)}


def _power(data: dict[str, _ArmData], names: list[str]) -> dict[str, Any]:
    agree = sum(d.agree for d in data.values())
    total = sum(d.agree_n for d in data.values())
    p = agree / total if total else 0.8  # before any overlap: a typical agreement
    need = n_per_arm_two_proportions(p, DETECT, alpha=ALPHA, power=POWER)
    have = min(data[n].agree_n for n in names)
    more = max(0, need - have)
    text = (f"about {more} more judgments per arm (on items with overlap) to detect a "
            f"{round(DETECT * 100)}-point difference in agreement with the consensus "
            f"(at {p:.0%} agreement, 5% two-sided, 80% power; {need} per arm in all)"
            if more else f"each arm has the {need} judgments needed to detect a "
                         f"{round(DETECT * 100)}-point difference in agreement (80% power)")
    return {"outcome": "agreement_with_consensus", "difference": DETECT, "alpha": ALPHA, "power": POWER,
            "baseline": round(p, 4), "needed_per_arm": need, "smallest_arm": have, "more_per_arm": more,
            "statement": text}


def _randomisation_note(e: Experiment) -> str:
    if all(a["kind"] == ArmKind.pool.value for a in e.arms):
        return ("trainers join the first pool they qualify for: not randomised, so differences may come "
                "from who the trainers are as much as from the pool rule")
    if e.unit == Unit.item.value:
        return "items randomised to arms in permuted blocks within each domain, fixed at their first lease"
    return "trainers randomised to arms in permuted blocks, fixed at their first lease"


def _share(x: float, n: int) -> dict[str, Any]:
    from ..quality.intervals import wilson_interval

    if n == 0:
        return {"value": None, "n": 0, "low": None, "high": None}
    low, high = wilson_interval(x, n)
    return {"value": round(x / n, 4), "n": n, "low": round(float(low), 4), "high": round(float(high), 4)}


def _mean(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"value": None, "n": 0, "low": None, "high": None}
    arr = np.asarray(values, dtype=float)
    if arr.size < 2:
        return {"value": round(float(arr.mean()), 4), "n": 1, "low": None, "high": None}
    rng = np.random.default_rng(0)
    boots = arr[rng.integers(0, arr.size, (1000, arr.size))].mean(axis=1)
    low, high = np.quantile(boots, [0.025, 0.975])
    return {"value": round(float(arr.mean()), 4), "n": int(arr.size), "low": round(float(low), 4),
            "high": round(float(high), 4)}


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)
