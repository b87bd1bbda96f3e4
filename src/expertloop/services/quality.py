"""A project's quality report: agreement, consensus, trainer scorecards, bias and groups.

Reads the judgments once, hands integer-coded arrays to :mod:`expertloop.quality` and turns
the fitted numbers into a report a manager can read (API, CLI and console share it).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.experts import Degree
from ..domain.grading import gold_tally
from ..domain.policies import Actor, require_staff
from ..domain.presentation import shown_first
from ..domain.projects import TaskType
from ..domain.tasks import claim_edits
from ..domain.tasks import task_type as task_spec
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item, Project
from .consensus import Consensus, latest_consensus, trainer_reliability_interval
from .exports import pseudonym
from .projects import load_project
from .uow import reads

MIN_FOR_FLAGS = 5        # judgments a trainer needs before bias flags are raised
ALPHA = 0.01             # significance for the statistical flags (many trainers are tested at once)
TOO_FAST_SHARE = 0.25    # a submission under this share of the item's median time is "too fast"
FAST_SHARE_FLAG = 0.3    # flag a trainer when this share of their submissions is too fast
MIN_GROUP_TRAINERS = 3   # a group with fewer trainers is shown, marked too small to compare


@reads
def project_quality(session: Session, actor: Actor, project_id: int, *, n_boot: int = 200,
                    consensus_limit: int = 1000, consensus: Consensus | None = None) -> dict:
    """The full report; ``consensus_limit`` caps the per-item list (least confident first).
    A caller that already fitted the project's consensus may pass it in."""
    require_staff(actor, "read quality reports")
    project = load_project(session, project_id)
    task_type = TaskType(project.task_type)
    rows = _rows(session, project.id)
    experts = {e.id: e for e in session.execute(select(Expert).where(
        Expert.id.in_({r["expert_id"] for r in rows}))).scalars()} if rows else {}
    report: dict = {"project_id": project.id, "task_type": task_type.value, "judgments": len(rows),
                    "items_judged": len({r["item_id"] for r in rows}), "trainers_active": len(experts)}
    if task_spec(task_type).scored:
        consensus = None
        report.update(_rubric(project, rows, n_boot))
    elif task_spec(task_type).has_consensus:
        if consensus is None:
            consensus = latest_consensus(session, project.id, task_type)
        report.update(_categorical(consensus, n_boot, consensus_limit, session))
        steps = _step_agreement(task_type, rows)
        if steps:
            report["step_agreement"] = steps
    else:
        consensus = None
        authors = _author_agreement(task_type, rows, n_boot)
        if authors is not None:
            report["author_agreement"] = authors
    report["trainers"] = _scorecards(project, task_type, rows, experts, consensus)
    _people_cards(session, project, report["trainers"])
    report["groups"] = _groups(consensus, experts, project)
    return report


def _rows(session: Session, project_id: int) -> list[dict]:
    q = (select(Assignment.id, Assignment.item_id, Assignment.expert_id, Assignment.response,
                Assignment.presentation, Assignment.active_seconds, Item.gold, Item.payload)
         .join(Item, Item.id == Assignment.item_id)
         .where(Assignment.project_id == project_id, repo.counted_judgment())
         .order_by(Assignment.id))
    keys = ("assignment_id", "item_id", "expert_id", "response", "presentation", "active_seconds", "gold", "payload")
    return [dict(zip(keys, r, strict=False)) for r in session.execute(q)]


def _agreement(items, trainers, values, level: str, n_boot: int) -> dict:
    from ..quality import krippendorff_alpha, percent_agreement

    alpha = krippendorff_alpha(items=items, trainers=trainers, values=values, level=level, n_boot=n_boot,
                               random_state=0)
    out = {"krippendorff_alpha": _interval(alpha), "level": level}
    if level == "nominal":
        out["percent_agreement"] = _interval(percent_agreement(items=items, trainers=trainers, labels=values,
                                                               n_boot=n_boot, random_state=0))
    return out


def _interval(agreement) -> dict:
    def clean(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 4)
    return {"value": clean(agreement.value), "low": clean(agreement.low), "high": clean(agreement.high)}


def _categorical(consensus: Consensus | None, n_boot: int, limit: int, session: Session) -> dict:
    if consensus is None:
        return {"agreement": None, "consensus": [], "method": "bayesian_dawid_skene"}
    data, model = consensus.data, consensus.model
    agreement = _agreement(np.array(data.keys, dtype=object), np.array(data.experts),
                           np.array(data.labels, dtype=object), "nominal", n_boot)
    counts: defaultdict[Any, int] = defaultdict(int)
    for k in data.keys:
        counts[k] += 1
    # the posterior of the label the consensus chose (not of a label nobody gave)
    chosen = getattr(model, "confidence_", None)
    confidence = model.probas_.max(axis=1) if chosen is None else np.asarray(chosen)
    order = np.argsort(confidence, kind="stable")[:limit]
    item_ids = {int(str(model.item_ids_[i]).split(":")[0]) for i in order}
    external = (dict(session.execute(select(Item.id, Item.external_id).where(Item.id.in_(item_ids))).all())
                if item_ids else {})
    entries = []
    for row in order:
        key = str(model.item_ids_[row])
        item_id, part = (int(x) for x in key.split(":"))
        if part >= claim_edits.TEXT_PART_BASE:  # a claim trainers wrote: named by its id, not a number
            entries.append({"item_id": item_id, "external_id": external.get(item_id), "part": None,
                            "claim_id": claim_edits.claim_id(part), "label": str(model.labels_[row]),
                            "confidence": round(float(confidence[row]), 4), "judgments": counts[key],
                            "gold": data.gold.get(key)})
            continue
        entries.append({"item_id": item_id, "external_id": external.get(item_id), "part": part,
                        "label": str(model.labels_[row]), "confidence": round(float(confidence[row]), 4),
                        "judgments": counts[key], "gold": data.gold.get(key)})
    return {"method": "bayesian_dawid_skene", "agreement": agreement, "consensus": entries,
            "classes": [str(c) for c in model.classes_]}


def _score_rows(task_type: TaskType, rows: list[dict]) -> list[tuple[str, int, dict]]:
    """One ``(unit, expert, {criterion: score})`` per scored answer of each judgment; the unit is
    ``"item:answer"`` (an item may hold several answers, each scored)."""
    spec = task_spec(task_type)
    return [(f"{r['item_id']}:{k}", r["expert_id"], scores)
            for r in rows for k, scores in enumerate(spec.score_units(r["response"]))]


def _rubric(project: Project, rows: list[dict], n_boot: int) -> dict:
    from ..quality import ReliabilityWeightedScore

    per_criterion = {}
    units = _score_rows(TaskType(project.task_type), rows)
    for crit in project.options.get("criteria", []):
        name = crit["name"]
        if not units:
            continue
        items = np.array([u for u, _, _ in units], dtype=object)
        trainers = np.array([e for _, e, _ in units])
        scores = np.array([s.get(name, np.nan) for _, _, s in units], dtype=float)
        model = ReliabilityWeightedScore().fit(items, trainers, scores)
        consensus = []
        for unit, score in zip(model.item_ids_, model.scores_, strict=False):
            item_id, answer = (int(x) for x in str(unit).split(":"))
            consensus.append({"item_id": item_id, "response": answer, "score": round(float(score), 3)})
        per_criterion[name] = {
            "agreement": _agreement(items, trainers, scores, "interval", n_boot),
            "consensus": consensus,
            "offsets": {int(t): round(float(o), 3) for t, o in zip(model.trainer_ids_, model.offsets_, strict=False)},
        }
    return {"method": "reliability_weighted_score", "criteria": per_criterion}


def _step_agreement(task_type: TaskType, rows: list[dict]) -> list[dict]:
    """Per step position (from 0), across items: how often the judgments of one step agree.
    ``percent_agreement`` is the share of agreeing pairs of judgments (averaged over the items
    where the step was judged at least twice) and ``krippendorff_alpha`` the nominal alpha, both
    None where no item has two judgments of the step. Empty for types without steps."""
    from ..quality import krippendorff_alpha, percent_agreement

    spec = task_spec(task_type)
    by_step: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for r in rows:
        for part, value in spec.categorical_answers(r["response"]):
            step = spec.step_of_part(r["payload"], part)
            if step is not None:
                by_step[step].append((r["item_id"], r["expert_id"], value))
    out = []
    for step, judged in sorted(by_step.items()):
        per_item: dict[int, int] = defaultdict(int)
        for item_id, _, _ in judged:
            per_item[item_id] += 1
        paired = [j for j in judged if per_item[j[0]] >= 2]
        entry: dict[str, Any] = {"step": step, "items": len(per_item), "items_paired": len({i for i, _, _ in paired}),
                 "judgments": len(judged), "percent_agreement": None, "krippendorff_alpha": None}
        if paired:
            items, trainers, values = (np.array(col, dtype=object) for col in zip(*paired, strict=True))
            entry["percent_agreement"] = _num(percent_agreement(items=items, trainers=trainers, labels=values).value)
            entry["krippendorff_alpha"] = _num(krippendorff_alpha(items=items, trainers=trainers, values=values,
                                                                  level="nominal").value)
        out.append(entry)
    return out


def _author_agreement(task_type: TaskType, rows: list[dict], n_boot: int) -> dict | None:
    """How alike the rubrics of different authors of the same item are, judged by the scores they
    give the item's reference answers (``TaskTypeSpec.candidate_scores``: the weighted share of
    criteria each reference meets, as the authors or their reviewers marked it). None for types
    that write no rubric. Units are (item, reference answer); a unit counts when two or more
    authors scored it."""
    spec = task_spec(task_type)
    if not spec.compares_authors:
        return None
    authors: dict[int, set[int]] = defaultdict(set)
    scored: dict[str, dict[int, float]] = defaultdict(dict)
    for r in rows:
        authors[r["item_id"]].add(r["expert_id"])
        for k, score in enumerate(spec.candidate_scores(r["payload"], r["response"])):
            if score is not None:
                scored[f"{r['item_id']}:{k}"][r["expert_id"]] = score
    shared = [u for u, by in scored.items() if len(by) >= 2]
    diffs = [abs(a - b) for u in shared for i, a in enumerate(scored[u].values())
             for b in list(scored[u].values())[i + 1:]]
    out: dict[str, Any] = {"items_shared": sum(1 for e in authors.values() if len(e) >= 2),
           "items_scored": len({u.split(":")[0] for u in shared}), "answers_scored": len(shared),
           "mean_abs_difference": _num(float(np.mean(diffs))) if diffs else None,
           "agreement": None}
    if shared:
        units = [(u, e, v) for u in shared for e, v in scored[u].items()]
        items, trainers, values = zip(*units, strict=True)
        out["agreement"] = _agreement(np.array(items, dtype=object), np.array(trainers),
                                      np.array(values, dtype=float), "interval", n_boot)
    return out


def _scorecards(project: Project, task_type: TaskType, rows: list[dict], experts: dict,
                consensus: Consensus | None) -> list[dict]:
    from ..quality import wilson_interval

    by_expert: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_expert[r["expert_id"]].append(r)
    reliability = _reliabilities(consensus)
    flags = _bias_flags(task_type, rows, consensus)
    cards = []
    for expert_id, mine in sorted(by_expert.items()):
        expert = experts[expert_id]
        n_gold, correct = gold_tally(task_type, [(r["response"], r["gold"]) for r in mine if r["gold"] is not None])
        card = {
            "expert_id": expert_id, "name": expert.name, "pseudonym": pseudonym(project, expert_id),
            "degree": Degree(expert.degree).name, "country": expert.country,
            "judgments": len(mine), "gold": None, "agreement_with_consensus": None,
            "reliability": reliability.get(expert_id, (None, None))[0],
            "reliability_interval": reliability.get(expert_id, (None, None))[1],
            "median_active_seconds": round(statistics.median([r["active_seconds"] for r in mine]), 1),
            "mean_active_seconds": round(statistics.fmean([r["active_seconds"] for r in mine]), 3),
            "flags": flags.get(expert_id, []),
        }
        if n_gold:
            low, high = wilson_interval(correct, n_gold)
            card["gold"] = {"answered": n_gold, "correct": correct, "accuracy": round(correct / n_gold, 4),
                            "low": round(low, 4), "high": round(high, 4)}
        if consensus is not None:
            data = consensus.data
            agree = [lab == consensus.label(k)
                     for k, e, lab in zip(data.keys, data.experts, data.labels, strict=False) if e == expert_id]
            if agree:
                card["agreement_with_consensus"] = round(sum(agree) / len(agree), 4)
        cards.append(card)
    return cards


def _people_cards(session: Session, project: Project, cards: list[dict]) -> None:
    """Each scorecard gains the trainer's test–retest agreement (with its interval) and their
    review outcomes (accepted / edited / rejected by reviewers)."""
    from .retests import retest_agreement
    from .review_tasks import review_outcomes

    retest = retest_agreement(session, project)
    reviews = review_outcomes(session, project.id)
    for card in cards:
        card["retest"] = retest.get(card["expert_id"])
        card["reviews"] = reviews.get(card["expert_id"])


def _reliabilities(consensus: Consensus | None) -> dict[int, tuple[float, list[float]]]:
    """Per trainer: estimated reliability and its 95% credible interval ``[low, high]``."""
    return {t: (round(a, 4), [round(lo, 4), round(hi, 4)])
            for t, (a, lo, hi, _n) in trainer_reliability_interval(consensus).items()}


def _bias_flags(task_type: TaskType, rows: list[dict], consensus: Consensus | None) -> dict[int, list[dict]]:
    """Bias and behaviour flags per trainer, each with its evidence (a p-value where one exists).

    A flag needs ``MIN_FOR_FLAGS`` judgments and, for the statistical ones, p < ``ALPHA``.
    """
    from ..quality import bias

    flags: dict[int, list[dict]] = defaultdict(list)
    if not rows:
        return flags

    def add(trainer_ids, n, kind, mask, **evidence):
        for j, tid in enumerate(trainer_ids):
            if n[j] >= MIN_FOR_FLAGS and mask[j]:
                flags[int(tid)].append({"kind": kind, "n": int(n[j]),
                                        **{k: _num(v[j]) for k, v in evidence.items()}})

    speed = bias.speed_flags([r["expert_id"] for r in rows], [r["active_seconds"] for r in rows],
                             items=[r["item_id"] for r in rows], fraction=TOO_FAST_SHARE)
    add(speed.trainer_ids, speed.n, "too_fast", speed.fast_share >= FAST_SHARE_FLAG,
        fast_share=speed.fast_share, median_seconds=speed.median_duration)
    if task_spec(task_type).pairwise:
        _pairwise_flags(rows, add, bias)
    if task_spec(task_type).scored:
        units = _score_rows(task_type, rows)
        for name in sorted({k for _, _, s in units for k in s}):
            scores = [s.get(name, np.nan) for _, _, s in units]
            len_ = bias.leniency([u for u, _, _ in units], [e for _, e, _ in units], scores)
            add(len_.trainer_ids, len_.n, f"leniency:{name}", len_.p_values < ALPHA, offset=len_.offsets,
                p_value=len_.p_values)
    if consensus is not None:
        data = consensus.data
        labels = np.array(data.labels, dtype=object)
        cons = {k: consensus.label(k) for k in set(data.keys)}
        skew = bias.label_skew(np.array(data.keys, dtype=object), np.array(data.experts), labels, consensus=cons)
        add(skew.trainer_ids, _counts(data.experts, skew.trainer_ids), "label_skew",
            (skew.p_values < ALPHA) & (skew.tvd >= 0.2), tvd=skew.tvd, p_value=skew.p_values)
        runs = bias.straight_lining(np.array(data.experts), labels)
        add(runs.trainer_ids, runs.n, "straight_lining", runs.flagged, longest_run=runs.longest_run,
            entropy=runs.entropy)
    return flags


def _pairwise_flags(rows: list[dict], add, bias) -> None:
    decided = [r for r in rows if r["response"]["choice"] != "tie" and r["presentation"]]
    if decided:
        pos = bias.position_bias([r["expert_id"] for r in decided],
                                 [shown_first(r["presentation"]) == r["response"]["choice"] for r in decided])
        add(pos.trainer_ids, pos.n, "position_bias", pos.p_values < ALPHA, share_first=pos.share_first,
            p_value=pos.p_values)
    sized = []
    for r in decided:
        lengths = [len(x["text"]) for x in r["payload"]["responses"]]
        if lengths[0] != lengths[1]:
            sized.append((r["item_id"], r["expert_id"], r["response"]["choice"] == int(np.argmax(lengths))))
    if sized:
        items, trainers, longer = zip(*sized, strict=False)
        lb = bias.length_bias(items, trainers, longer)
        add(lb.trainer_ids, lb.n, "length_bias", (lb.p_values < ALPHA) & (lb.excess > 0),
            share_longer=lb.share_longer, consensus_share=lb.consensus_share, p_value=lb.p_values)


def _counts(experts: list[int], trainer_ids) -> np.ndarray:
    counts: defaultdict[int, int] = defaultdict(int)
    for e in experts:
        counts[e] += 1
    return np.array([counts[int(t)] for t in trainer_ids])


def _num(x) -> float | int | None:
    if isinstance(x, (np.integer, int)):
        return int(x)
    x = float(x)
    return None if not np.isfinite(x) else round(x, 4)


def _groups(consensus: Consensus | None, experts: dict, project: Project) -> dict:
    """Per group of trainers (degree, country, domain level): the share of the group's counted
    judgments that give the platform's consensus answer, with the group's size (trainers and
    judgments) and a 95% Wilson interval; groups of fewer than ``MIN_GROUP_TRAINERS`` trainers
    are marked ``too_small``. ``chi2``/``p_value`` test whether the groups' label mix differs."""
    if consensus is None:
        return {}
    from ..quality import bias

    dims: dict[str, Callable[[Expert], str]] = {"degree": lambda e: Degree(e.degree).name,
                                                "country": lambda e: e.country or "unknown"}
    domains = list((project.requirements or {}).get("domains", {}))
    if domains:
        domain = domains[0]
        dims[f"{domain}_level"] = lambda e: str((e.domains or {}).get(domain, 0))
    data = consensus.data
    keys, trainers, labels = (np.array(data.keys, dtype=object), np.array(data.experts),
                              np.array(data.labels, dtype=object))
    answers = {k: consensus.label(k) for k in set(data.keys)}
    out = {}
    for name, group_of in dims.items():
        groups = {e: group_of(experts[e]) for e in set(data.experts)}
        if len(set(groups.values())) < 2:
            continue
        agreement = bias.group_agreement(keys, trainers, labels, groups, answers, min_trainers=MIN_GROUP_TRAINERS)
        mix = bias.group_disagreement(keys, trainers, labels, groups)
        out[name] = {
            "groups": [{"group": str(g), "trainers": int(t), "judgments": int(n), "agreeing": int(a),
                        "agreement_with_consensus": _num(share), "low": _num(low), "high": _num(high),
                        "too_small": bool(small)}
                       for g, t, n, a, share, low, high, small in zip(
                           agreement.groups, agreement.trainers, agreement.n, agreement.agree, agreement.share,
                           agreement.low, agreement.high, agreement.too_small, strict=True)],
            "chi2": _num(mix.chi2), "p_value": _num(mix.p_value), "dof": mix.dof,
        }
    return out
