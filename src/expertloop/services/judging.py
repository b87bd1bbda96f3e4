"""Models as judges: a ``judge_items`` job asks a model to judge a project's items — preference
items in both orders, ranking items in the imported order and reversed, label items once,
fact-check items once with a verdict per proposed claim — stores its answers in
``model_judgments`` — apart from the experts' judgments, never in consensus, never paid — and
the quality report's ``judges`` section measures each judge against the experts
(:func:`judge_section`, whose arithmetic is the pure :func:`calibration`). Rubric projects are
not judged: their answers are scores, with no categorical consensus to agree with.

The job is idempotent (one row per item, model and order; items already judged are skipped)
and resumable (an unavailable model fails the job after the judgments already stored).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from .. import llm
from ..domain.errors import Conflict, ValidationFailed
from ..domain.grading import categorical_answers
from ..domain.judging import (
    AB,
    BA,
    FWD,
    ONCE,
    REV,
    claim_order,
    claim_part,
    item_verdict,
    label_messages,
    pair_messages,
    ranking_messages,
    read_label,
    read_pair,
    read_ranking,
    read_verdicts,
    verdict_messages,
)
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..quality import cohen_kappa, wilson_interval
from ..storage import repositories as repo
from ..storage.orm import Assignment, Item, ModelJudgment, Project
from . import audit, models
from .consensus import key_of, latest_consensus
from .imports import JUDGED, SCREENING
from .jobs import JUDGE_ITEMS, enqueue
from .projects import load_project
from .uow import reads, writes

JUDGED_TYPES = (TaskType.preference, TaskType.ranking, TaskType.label, TaskType.factcheck)
SWAPPED_TYPES = (TaskType.preference, TaskType.ranking)  # judged in two orders
BATCH = 16
HIGH_CONFIDENCE = 0.8
Progress = Callable[[dict], None]


def _orders(task_type: TaskType) -> tuple[str, ...]:
    """The calls made per item: one per order of presentation."""
    return {TaskType.preference: (AB, BA), TaskType.ranking: (FWD, REV)}.get(task_type, (ONCE,))


def _messages(task_type: TaskType, payload: dict, order: str, labels: list[str], guidelines: str) -> list[dict]:
    if task_type == TaskType.preference:
        return pair_messages(payload, order, guidelines)
    if task_type == TaskType.ranking:
        return ranking_messages(payload, order, guidelines)
    if task_type == TaskType.factcheck:
        return verdict_messages(payload, guidelines)
    return label_messages(payload, labels, guidelines)


def _rows(task_type: TaskType, payload: dict, order: str, text: str, labels: list[str]) -> list[tuple]:
    """(stored order, answer, confidence) read from one reply: one row, or one per claim."""
    if task_type == TaskType.preference:
        return [(order, *read_pair(text, order))]
    if task_type == TaskType.ranking:
        return [(order, *read_ranking(text, order, len(payload["responses"])))]
    if task_type == TaskType.factcheck:
        verdicts, conf = read_verdicts(text, len(payload.get("claims") or []))
        return [(claim_order(i), v, conf if v is not None else None) for i, v in enumerate(verdicts)]
    return [(order, *read_label(text, labels))]


@writes
def request_judging(session: Session, actor: Actor | None, project_id: int, model: object) -> dict:
    """Queue a ``judge_items`` job: ``model`` judges every item of the project it has not judged."""
    if actor is not None:
        require_staff(actor, "run model judges")
    project = load_project(session, project_id)
    if TaskType(project.task_type) not in JUDGED_TYPES:
        names = [t.value for t in JUDGED_TYPES]
        raise Conflict(f"a model can judge {', '.join(names[:-1])} and {names[-1]} projects; "
                       f"project {project_id} is {project.task_type}")
    if not isinstance(model, str) or not model:
        raise ValidationFailed("is required: the name of a model endpoint", loc="model")
    if model not in models.endpoint_names(session):
        raise ValidationFailed(f"no model endpoint named {model!r}", loc="model")
    job_id = enqueue(session, JUDGE_ITEMS, project_id=project_id, payload={"model": model})
    audit.record(session, actor, "models.judge_items.requested", project_id=project_id, target=model,
                 detail={"job_id": job_id})
    return {"project_id": project_id, "model": model, "job_id": job_id}


@reads
def _batch(session: Session, project_id: int, model: str, after_id: int) -> tuple[Project, list[Item]]:
    project = session.get(Project, project_id)
    if project is None:
        return None, []  # type: ignore[return-value]
    judged = select(ModelJudgment.item_id).where(ModelJudgment.project_id == project_id,
                                                 ModelJudgment.model == model)
    rows = session.execute(select(Item).where(Item.project_id == project_id, Item.id > after_id,
                                              or_(Item.generation.is_(None), Item.generation == SCREENING),
                                              Item.id.not_in(judged))
                           .order_by(Item.id).limit(BATCH)).scalars().all()
    return project, list(rows)


def judge_items(session: Session, project_id: int, model: str, *, job_id: int | None = None,
                progress: Progress | None = None) -> dict:
    """The job's work: ``model`` judges each item it has not judged yet (see the module)."""
    after, judged = 0, 0
    unavailable: llm.ModelError | None = None
    _screen(session, project_id, model, _judged_waiting(session, project_id, model))  # an earlier run's
    while True:
        project, batch = _batch(session, project_id, model, after)
        if not batch:
            break
        after = batch[-1].id
        task_type = TaskType(project.task_type)
        labels = list((project.options or {}).get("labels") or [])
        requests, owners = [], []
        for item in batch:
            for order in _orders(task_type):
                messages = _messages(task_type, item.payload, order, labels, project.guidelines or "")
                requests.append(models.CallRequest(model, messages, temperature=0.0,
                                                   max_tokens=200 if task_type != TaskType.factcheck else 2000))
                owners.append((item, order))
        results = models.call_many(session, requests, purpose="judge", project_id=project_id, job_id=job_id)
        rows: list[dict] = []
        complete: dict[int, int] = defaultdict(int)
        for (item, order), got in zip(owners, results, strict=True):
            if isinstance(got, llm.ModelError):
                if got.retryable:
                    unavailable = got
                    continue
                failed = _rows(task_type, item.payload, order, "", labels)  # every row unanswered
                rows.extend({"item_id": item.id, "order": o, "answer": None, "confidence": None,
                             "raw": f"error: {got.message}"[:2000], "generation": None} for o, _, _ in failed)
            else:
                c = got[0]
                rows.extend({"item_id": item.id, "order": o, "answer": answer, "confidence": conf,
                             "raw": c.text[:2000], "generation": c.provenance()}
                            for o, answer, conf in _rows(task_type, item.payload, order, c.text, labels))
            complete[item.id] += 1
        needed = len(_orders(task_type))
        judged += _store(session, project_id, model, job_id,
                         [r for r in rows if complete[r["item_id"]] == needed])
        _screen(session, project_id, model, [i.id for i in batch])
        if progress:
            progress({"step": "judging", "model": model, "judged": judged})
    if unavailable is not None:
        raise unavailable
    return {"model": model, "judged_items": judged}


@writes
def _store(session: Session, project_id: int, model: str, job_id: int | None, rows: list[dict]) -> int:
    """Store whole items only (every order), each once: an item judged by an earlier run is skipped."""
    ids = {r["item_id"] for r in rows}
    if not ids:
        return 0
    done = set(session.execute(select(ModelJudgment.item_id).where(ModelJudgment.item_id.in_(ids),
                                                                   ModelJudgment.model == model)).scalars())
    for r in rows:
        if r["item_id"] in done:
            continue
        session.add(ModelJudgment(project_id=project_id, model=model, job_id=job_id, **r))
    session.flush()
    return len(ids - done)


@reads
def _judged_waiting(session: Session, project_id: int, model: str) -> list[int]:
    judged = select(ModelJudgment.item_id).where(ModelJudgment.project_id == project_id, ModelJudgment.model == model)
    return list(session.execute(select(Item.id).where(Item.project_id == project_id, Item.generation == SCREENING,
                                                      Item.id.in_(judged))).scalars())


@writes
def _screen(session: Session, project_id: int, model: str, item_ids: list[int]) -> None:
    """``judge_first``: of the items waiting for this judge, those it decided the same way in both
    orders with at least ``min_agreement`` confidence need no expert (``judged``); the others
    open for experts. Items whose judgments are not all in yet keep waiting."""
    project = session.get(Project, project_id)
    if project is None:
        return
    screen = (project.models or {}).get("judge_first") or {}
    if screen.get("model") != model:
        return
    target = (project.adaptive_overlap or {}).get("min", project.overlap)
    needed = len(_orders(TaskType(project.task_type)))
    answers: dict[int, dict[str, tuple[str | None, float | None]]] = defaultdict(dict)
    for item_id, order, answer, conf in session.execute(
            select(ModelJudgment.item_id, ModelJudgment.order, ModelJudgment.answer, ModelJudgment.confidence)
            .where(ModelJudgment.item_id.in_(item_ids), ModelJudgment.model == model)):
        answers[item_id][order] = (answer, conf)
    for item in session.execute(select(Item).where(Item.id.in_(item_ids), Item.generation == SCREENING)
                                .with_for_update()).scalars():
        if len(answers.get(item.id, {})) < needed:
            continue
        answer, conf, consistent = item_verdict(answers[item.id])
        if consistent and answer is not None and answer != "tie" and conf is not None \
                and conf >= screen["min_agreement"]:
            item.generation = JUDGED
        else:
            item.generation, item.target_overlap = None, target
    session.flush()


# -- the report ------------------------------------------------------------------------------


def _rate(k: int, n: int) -> dict:
    if n == 0:
        return {"agree": 0, "n": 0, "rate": None, "interval": None}
    lo, hi = wilson_interval(k, n)
    return {"agree": k, "n": n, "rate": round(k / n, 4), "interval": [round(float(lo), 4), round(float(hi), 4)]}


def _kappa(a: list[str], b: list[str]) -> float | None:
    if len(a) < 2:
        return None
    value = cohen_kappa(np.array(a, dtype=object), np.array(b, dtype=object)).value
    return None if np.isnan(value) else round(float(value), 4)


Unit = tuple[int, int]  # (item id, part): part 0 of an item, or a fact-check's proposed claim


@reads
def judge_section(session: Session, project_id: int) -> list[dict]:
    """Per model that judged the project, :func:`calibration` against the experts' consensus
    and gold, read from the stored judgments (a fact-check per claim, other types per item),
    with ``judge_first`` (what screening saved) for the screening judge."""
    project = session.get(Project, project_id)
    if project is None:
        return []
    task_type = TaskType(project.task_type)
    rows = session.execute(select(ModelJudgment.model, ModelJudgment.item_id, ModelJudgment.order,
                                  ModelJudgment.answer, ModelJudgment.confidence)
                           .where(ModelJudgment.project_id == project_id)).all()
    if not rows:
        return []
    per_model: dict[str, dict[Unit, dict[str, tuple[str | None, float | None]]]] = \
        defaultdict(lambda: defaultdict(dict))
    for model, item_id, order, answer, conf in rows:
        part = claim_part(order) if task_type == TaskType.factcheck else 0
        if part is not None:
            per_model[model][(item_id, part)][ONCE if task_type == TaskType.factcheck else order] = (answer, conf)
    item_ids = {r.item_id for r in rows}
    q = select(Item).where(Item.id.in_(item_ids))
    if task_type != TaskType.preference:  # only answer lengths need the payload
        q = q.options(defer(Item.payload))
    items = {i.id: i for i in session.execute(q).scalars()}
    consensus = latest_consensus(session, project_id, task_type)
    units = {u for judged in per_model.values() for u in judged}
    experts: dict[Unit, tuple[str, float | None]] = {}
    if consensus is not None:
        for u in units:
            label = consensus.label(key_of(*u))
            if label is not None:
                experts[u] = (label, consensus.posterior(key_of(*u)))
    gold: dict[Unit, str] = {}
    groups: dict[Unit, str] = {}
    for u in units:
        item = items.get(u[0])
        if item is None:
            continue
        if item.gold is not None:
            answer = dict(categorical_answers(task_type, item.gold)).get(u[1])
            if answer is not None:
                gold[u] = answer
        group = (item.meta or {}).get("domain") or (item.meta or {}).get("category")
        if isinstance(group, str):
            groups[u] = group
    longer = {(iid, 0): _longer(it.payload) for iid, it in items.items()} if task_type == TaskType.preference else {}
    out = []
    for model, judged in sorted(per_model.items()):
        section = {"model": model, "items_judged": len({iid for iid, _ in judged}),
                   **calibration(judged, experts, gold, groups, swapped=task_type in SWAPPED_TYPES,
                                 longer=longer if task_type == TaskType.preference else None)}
        if task_type == TaskType.factcheck:
            section["claims_judged"] = len(judged)
        if task_type == TaskType.preference:
            section["length_bias"]["experts_chose_longer"] = _experts_longer(
                consensus, {iid: lg for (iid, _), lg in longer.items()})
        screen = (project.models or {}).get("judge_first") or {}
        if screen.get("model") == model:
            verdicts = {iid: item_verdict(ans) for (iid, _), ans in judged.items()}
            section["judge_first"] = _judge_first(session, project, screen, verdicts, items, consensus, task_type)
        out.append(section)
    return out


def calibration(judged: dict[Unit, dict[str, tuple[str | None, float | None]]],
                experts: dict[Unit, tuple[str, float | None]], gold: dict[Unit, str], groups: dict[Unit, str], *,
                swapped: bool, longer: dict[Unit, str | None] | None = None) -> dict:
    """One judge against the experts, as a pure function of its answers per unit (an item, or a
    fact-check's claim) and order: agreement with the expert consensus (``experts``: label and
    posterior per unit) and with ``gold`` (Wilson intervals, Cohen's κ; a unit the judge answered
    differently in the two orders, or not at all, counts as a disagreement); position-swap
    consistency (``swapped`` types: preference A/B swapped, ranking reversed — the same top
    answer both ways); length bias (``longer``: the imported index of the longer answer per
    unit, pairwise only); agreement per domain/category (``groups``); and the share of units
    where judge and experts agree with both confident (judge ≥ 0.8, consensus posterior ≥ 0.8)."""
    verdicts = {u: item_verdict(ans) for u, ans in judged.items()}
    section: dict = {"units_judged": len(judged)}
    if swapped:
        both = [u for u, ans in judged.items() if len(ans) >= 2]
        section["swap_consistency"] = _rate(sum(1 for u in both if verdicts[u][2]), len(both))
    if longer is not None:
        picks = [(ans, longer[u]) for u, per in judged.items() for ans, _ in per.values()
                 if ans in ("0", "1") and longer.get(u) is not None]
        section["length_bias"] = {"judge_chose_longer": _rate(sum(1 for a, lg in picks if a == lg), len(picks))}
    expert_pairs: list[tuple[str, str]] = []
    gold_pairs: list[tuple[str, str]] = []
    by_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confident_agree = 0
    for u, (answer, conf, _consistent) in verdicts.items():
        shown = answer if answer is not None else "no verdict"
        if u in experts:
            label, post = experts[u]
            expert_pairs.append((shown, label))
            if (answer == label and conf is not None and conf >= HIGH_CONFIDENCE
                    and post is not None and post >= HIGH_CONFIDENCE):
                confident_agree += 1
            if u in groups:
                by_group[groups[u]][0] += answer == label
                by_group[groups[u]][1] += 1
        if u in gold:
            gold_pairs.append((shown, gold[u]))
    section["agreement_with_experts"] = _agreement(expert_pairs)
    section["agreement_with_gold"] = _agreement(gold_pairs)
    section["by_group"] = {g: _rate(k, n) for g, (k, n) in sorted(by_group.items())}
    section["agree_confidently"] = _rate(confident_agree, len(expert_pairs))
    return section


def _judge_first(session: Session, project: Project, screen: dict, verdicts: dict, items: dict, consensus,
                 task_type: TaskType) -> dict:
    """What screening with the judge saved and what it kept: items it decided alone, the expert
    hours those would have cost (overlap × the project's mean active time per judgment), and
    the judge's accuracy on the items it would decide — against experts where they judged such
    items anyway (before screening, or as calibration) and against gold."""
    decided = sum(1 for it in items.values() if it.generation == JUDGED)
    sent = sum(1 for it in items.values() if it.generation is None)
    mean_seconds = session.execute(select(func.avg(Assignment.active_seconds))
                                   .where(Assignment.project_id == project.id, repo.counted_judgment())).scalar()
    overlap = (project.adaptive_overlap or {}).get("min", project.overlap)
    confident = {iid for iid, (ans, conf, ok) in verdicts.items()
                 if ok and ans not in (None, "tie") and conf is not None and conf >= screen["min_agreement"]}
    vs_experts = [(verdicts[iid][0], consensus.label(key_of(iid, 0))) for iid in confident
                  if consensus is not None and consensus.label(key_of(iid, 0)) is not None]
    vs_gold = [(verdicts[iid][0], dict(categorical_answers(task_type, items[iid].gold)).get(0)) for iid in confident
               if items[iid].gold is not None]
    return {"min_agreement": screen["min_agreement"], "decided_by_judge": decided, "sent_to_experts": sent,
            "expert_hours_saved": None if mean_seconds is None else round(decided * overlap * float(mean_seconds)
                                                                          / 3600, 2),
            "accuracy_kept_vs_experts": _rate(sum(a == b for a, b in vs_experts), len(vs_experts)),
            "accuracy_kept_vs_gold": _rate(sum(a == b for a, b in vs_gold), len(vs_gold))}


def _agreement(pairs: list[tuple[str, str]]) -> dict:
    return {**_rate(sum(a == b for a, b in pairs), len(pairs)),
            "kappa": _kappa([a for a, _ in pairs], [b for _, b in pairs])}


def _longer(payload: dict) -> str | None:
    rs = payload.get("responses") or []
    if len(rs) != 2 or len(rs[0]["text"]) == len(rs[1]["text"]):
        return None
    return "0" if len(rs[0]["text"]) > len(rs[1]["text"]) else "1"


def _experts_longer(consensus, longer: dict[int, str | None]) -> dict:
    if consensus is None:
        return _rate(0, 0)
    picks = [(label, longer.get(iid)) for key, label, iid in zip(consensus.data.keys, consensus.data.labels,
                                                                 consensus.data.item_ids, strict=False)
             if label in ("0", "1") and longer.get(iid) is not None]
    return _rate(sum(1 for a, lg in picks if a == lg), len(picks))
