"""Where the next judgment goes: adaptive gold, adaptive overlap, escalation, tiers and the
quality floor. Called by the assignment services inside their transaction.

The maths lives in :mod:`expertloop.quality` (Dawid–Skene posteriors, the stopping rule,
expected accuracy gain per dollar); this module feeds it one item's judgments weighed by the
trainers' confusions of the project's stored consensus fit, and writes the decisions back: an
item's ``target_overlap``, ``confidence`` and ``required_tier``, its
history (``item_events``) and notifications for managers.
"""

from __future__ import annotations

import functools
import random
import statistics
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import BindParameter, Insert, Select, and_, bindparam, func, insert, select
from sqlalchemy.orm import Session

from ..domain.grading import categorical_answers, gold_tally
from ..domain.projects import TaskType
from ..domain.routing import GoldPolicy
from ..domain.tasks import claim_edits
from ..domain.tasks import task_type as task_spec
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item, ItemEvent, Notification, Project, ProjectPause
from . import jobs
from .consensus import TrainerModel, trainer_model
from .projects import expert_tiers, passed_exams

UNMEASURED_TIER_ACCURACY = 0.7  # assumed for a tier none of whose members has been measured yet


@dataclass(frozen=True)
class ClaimQuery:
    """One pass of the claim: which pool to draw from and who may take routed items."""

    gold: bool | None = None
    tiers: tuple[str, ...] | None = None
    doubt_first: bool = False

    @property
    def gold_pool(self) -> bool:
        return self.gold is True

    @property
    def kwargs(self) -> dict:
        return {"gold": self.gold, "tiers": self.tiers, "doubt_first": self.doubt_first}


def in_gold_pool(project: Project, item: Item) -> bool:
    """Under adaptive gold, gold items form a pool every trainer may be served once."""
    return project.gold_policy is not None and item.gold is not None


def claim_plan(session: Session, project: Project, expert: Expert, rng: random.Random) -> list[ClaimQuery]:
    """The claim passes to try in order. With adaptive gold, a gold item comes first with the
    trainer's current gold rate; gold is never served on its own once regular work runs out,
    so an empty queue never gives gold away."""
    tiers = tuple(expert_tiers(project, expert, passed_exams(session, expert.id))) if project.tiers else None
    doubt_first = project.adaptive_overlap is not None
    if project.gold_policy is None:
        return [ClaimQuery(None, tiers, doubt_first)]
    regular = ClaimQuery(False, tiers, doubt_first)
    answered = gold_answered(session, project.id, expert.id)
    if rng.random() < GoldPolicy(**project.gold_policy).rate(answered):
        return [ClaimQuery(True, None, False), regular]
    return [regular]


def gold_answered(session: Session, project_id: int, expert_id: int) -> int:
    """Gold items the expert has a counted judgment on (the evidence that sets their gold rate)."""
    return session.execute(select(func.count()).select_from(Assignment).join(Item, Item.id == Assignment.item_id)
                           .where(Assignment.project_id == project_id, Assignment.expert_id == expert_id,
                                  repo.counted_judgment(), Item.gold.is_not(None))).scalar_one()


def after_submit(session: Session, project: Project, item: Item, assignment: Assignment, now: datetime) -> None:
    """Decisions after one judgment, from the project's stored consensus: work proportional to
    the item, never to the project. The refit itself is queued (debounced) for a job.

    ``assignment`` is the judgment just submitted, possibly not yet flushed: the reads here
    (the queued refit, the stored fit, the item's judgments) need none of the submit's pending
    writes, since the submitted judgment is added to the item's judgments in memory, so they run
    without flushing. The item's history (``item_events``) is written in one statement at the end."""
    task_type = TaskType(project.task_type)
    events: list[dict] = []
    _event(events, item.id, "judged", {"assignment_id": assignment.id}, now)
    evidence = ItemEvidence(session, project, item, task_type, submitted=assignment)
    with session.no_autoflush:
        if evidence.categorical:
            jobs.enqueue(session, jobs.REFIT_CONSENSUS, project_id=project.id, debounce=True)
        if project.adaptive_overlap is not None and not in_gold_pool(project, item):
            evidence.load()
    _decide(session, project, task_type, item, assignment, evidence, now, events)
    session.flush()  # the events' item is written (and the ORM's pending work with it) first
    session.connection().execute(_insert_events(), events)  # Core: no ORM bulk-insert machinery


def _decide(session: Session, project: Project, task_type: TaskType, item: Item, assignment: Assignment,
            evidence: ItemEvidence, now: datetime, events: list[dict]) -> None:
    if project.quality_floor is not None:
        _apply_quality_floor(session, project, task_type, item, assignment.expert_id, evidence, now)
    if in_gold_pool(project, item):
        return
    if project.adaptive_overlap is not None:
        _adapt(session, project, item, evidence, now, events)
    elif task_spec(task_type).escalates_on_disagreement and project.tiers:
        _escalate_on_disagreement(session, project, item, now, events)


class ItemEvidence:
    """One item's judgments and the project's per-trainer model (confusions, class prior) from
    the stored consensus fit, read at most once per submission however many decisions (quality
    floor, adaptive overlap) use them. A project with no stored fit yet is fitted (and the fit
    stored) once, here; afterwards the ``refit_consensus`` job keeps it current.

    ``submitted``: the judgment being submitted in this unit. It counts by construction (done,
    under a consent that stands), so it is taken from memory and the item's other judgments from
    the database; reading them then needs no flush of the submit's own writes."""

    def __init__(self, session: Session, project: Project, item: Item, task_type: TaskType, *,
                 submitted: Assignment | None = None):
        self.session, self.project, self.item, self.task_type = session, project, item, task_type
        self.submitted = submitted
        self.categorical = task_spec(task_type).has_consensus  # has categorical answers
        self._model: TrainerModel | None = None
        self._model_read = False
        self._judgments: list[tuple[int, dict, datetime]] | None = None
        self._escalated_at: datetime | None = None

    def load(self) -> None:
        """Read the model and the judgments now (what adaptive overlap needs)."""
        _ = self.model, self.judgments

    @property
    def model(self) -> TrainerModel | None:
        if not self._model_read:
            model = trainer_model(self.session, self.project.id)
            if model is None and self.categorical:
                # Before the project's first fit (a new project, or just after a withdrawal dropped
                # it) decide from this item's judgments alone: fitting here would read the whole
                # project inside the submit's write transaction. The queued refit fits it.
                model = TrainerModel.uninformed(self._answer_classes())
            self._model, self._model_read = model, True
        return self._model

    def _answer_classes(self) -> list[str]:
        """The answers a part of this item can take: the task type's answer space, else those
        given so far plus one stand-in for the rest (so agreement alone is never certainty)."""
        spec = task_spec(self.task_type)
        space = list(spec.answer_space(self.project.options or {}, self.item.payload or {}))
        if space:
            return space
        seen = sorted({v for _e, response, _t in self.judgments for _p, v in spec.categorical_answers(response)})
        return [*seen, "(another answer)"]

    @property
    def judgments(self) -> list[tuple[int, dict, datetime]]:
        """(expert, response, leased_at) of the item's counted judgments, oldest first."""
        if self._judgments is None:
            self._load_judgments()
        return self._judgments  # type: ignore[return-value]

    @property
    def escalated_at(self) -> datetime | None:
        """When the item was first escalated (None if never): judgments leased since count as senior."""
        if self._judgments is None:
            self._load_judgments()
        return self._escalated_at

    def _load_judgments(self) -> None:
        exclude = self.submitted.id if self.submitted is not None else 0  # ids start at 1
        rows = self.session.execute(_item_judgments(), {"item_id": self.item.id, "exclude": exclude}).all()
        self._escalated_at = rows[0][0] if rows else None
        judged = [(r[1], r[2], r[3], r[4]) for r in rows if r[1] is not None]
        if self.submitted is not None:
            a = self.submitted
            judged.append((a.id, a.expert_id, a.response, a.leased_at))
            judged.sort(key=lambda j: j[0])
        self._judgments = [(e, r, leased) for _id, e, r, leased in judged]

    def posteriors(self) -> list[np.ndarray]:
        """The item's posterior per part (one for most types, one per claim for fact-checks),
        each judgment weighted by its trainer's confusion from the stored fit; gold parts are
        certain. When the item holds an answer the fit has never seen, that part falls back to
        a one-coin model over the known and new answers, each trainer right with their fitted
        reliability (until the next refit learns the new answer)."""
        from ..quality.adaptive import posterior_for_item

        model = self.model
        if model is None:
            return []
        parts: dict[int, list[tuple[int, str]]] = {}
        for expert_id, response, _leased in self.judgments:
            for part, value in categorical_answers(self.task_type, response):
                parts.setdefault(part, []).append((expert_id, value))
        gold = dict(categorical_answers(self.task_type, self.item.gold)) if self.item.gold is not None else {}
        code = {c: k for k, c in enumerate(model.classes)}
        out = []
        for part in sorted(parts):
            answers = parts[part]
            unseen = sorted({v for _e, v in answers if v not in code})
            if unseen:
                out.append(_one_coin_posterior(model, answers, [*model.classes, *unseen]))
            elif part in gold and gold[part] in code:
                out.append(np.eye(len(code))[code[gold[part]]])
            else:
                confusions = np.array([model.confusion_of(e) for e, _v in answers])
                out.append(posterior_for_item([code[v] for _e, v in answers], confusions, model.class_prior))
        return out


@functools.cache
def _insert_events() -> Insert:
    """The item's history rows as a plain INSERT (the ORM's bulk insert costs more than it does)."""
    return insert(ItemEvent)


@functools.cache
def _item_judgments() -> Select:
    """An item's first escalation (an aggregate, so always one row) left-joined to its counted
    judgments but one (``:exclude``): both in one statement, built once."""
    item_id: BindParameter[int] = bindparam("item_id")
    escalated = (select(func.min(ItemEvent.created_at).label("first"))
                 .where(ItemEvent.item_id == item_id, ItemEvent.kind == "escalated").subquery())
    on = and_(Assignment.item_id == item_id, repo.counted_judgment(), Assignment.id != bindparam("exclude"))
    return (select(escalated.c.first, Assignment.id, Assignment.expert_id, Assignment.response,
                   Assignment.leased_at)
            .select_from(escalated).outerjoin(Assignment, on).order_by(Assignment.id))


def _one_coin_posterior(model: TrainerModel, answers: list[tuple[int, str]], classes: list[str]) -> np.ndarray:
    from ..quality.adaptive import posterior_for_item

    k = len(classes)
    code = {c: i for i, c in enumerate(classes)}
    known = [r for r, _n in model.reliability.values()]
    typical = float(np.mean(known)) if known else UNMEASURED_TIER_ACCURACY
    confusions = []
    for expert_id, _value in answers:
        right = min(max(model.reliability.get(expert_id, (typical, 0))[0], 1 / k + 0.01), 0.99)
        c = np.full((k, k), (1 - right) / (k - 1))
        np.fill_diagonal(c, right)
        confusions.append(c)
    return posterior_for_item([code[v] for _e, v in answers], np.array(confusions))


# -- quality floor --------------------------------------------------------------------------------
def gold_record(session: Session, project_id: int, task_type: TaskType, expert_id: int) -> tuple[int, int | float]:
    """(gold tasks answered, credit) of an expert in a project: a fact-check earns the share of its
    claims judged right, and the Wilson interval counts tasks (docs/quality.md, "Gold scoring").

    Only counted judgments (``repositories.counted_judgment``): a rejected or withdrawn answer
    is not the trainer's record, in either direction."""
    rows = session.execute(select(Assignment.response, Item.gold).join(Item, Item.id == Assignment.item_id).where(
        Assignment.project_id == project_id, Assignment.expert_id == expert_id,
        repo.counted_judgment(), Item.gold.is_not(None))).all()
    return gold_tally(task_type, [(r, g) for r, g in rows])


def _apply_quality_floor(session: Session, project: Project, task_type: TaskType, item: Item, expert_id: int,
                         evidence: ItemEvidence, now: datetime) -> None:
    """Pause the trainer when a measure the project floors is below it with 95% confidence."""
    floor = project.quality_floor
    assert floor is not None  # called only for a project with a floor
    reason = None
    if floor.get("gold_accuracy") is not None and item.gold is not None:
        reason = below_gold_floor(session, project, task_type, expert_id, floor)
    if reason is None and floor.get("reliability") is not None:
        reason = _below_reliability_floor(expert_id, floor, evidence)
    if reason is not None:
        pause_trainer(session, project, expert_id, reason, now)


GOLD_FLOOR_REASON = "gold accuracy "  # how a pause by the gold floor's reason begins


def below_gold_floor(session: Session, project: Project, task_type: TaskType, expert_id: int,
                     floor: dict) -> str | None:
    """Why the trainer's gold record is below the project's gold floor (95% upper bound), or None."""
    from ..quality.intervals import wilson_interval

    n, correct = gold_record(session, project.id, task_type, expert_id)
    if n < floor["min_gold"]:
        return None
    _low, high = wilson_interval(correct, n)
    if high >= floor["gold_accuracy"]:
        return None
    return (f"{GOLD_FLOOR_REASON}{correct}/{n} = {correct / n:.0%}; 95% upper bound {high:.0%} is below the "
            f"project's floor of {floor['gold_accuracy']:.0%}")


def _below_reliability_floor(expert_id: int, floor: dict, evidence: ItemEvidence) -> str | None:
    """Reads the trainer's reliability from the stored fit (the quality report's number)."""
    from ..quality.intervals import wilson_interval

    model = evidence.model
    estimate = model.reliability.get(expert_id) if model is not None else None
    if estimate is None:
        return None
    reliability, n = estimate
    if n < floor.get("min_judgments", 20):
        return None
    _low, high = wilson_interval(reliability * n, n)
    if high >= floor["reliability"]:
        return None
    return (f"estimated reliability {reliability:.0%} over {n} judgments (Dawid–Skene consensus); 95% upper "
            f"bound {high:.0%} is below the project's floor of {floor['reliability']:.0%}")


def pause_trainer(session: Session, project: Project, expert_id: int, reason: str, now: datetime) -> None:
    """Pause a trainer from a project (once), release their live leases, notify the managers."""
    paused = session.execute(select(ProjectPause.id).where(
        ProjectPause.project_id == project.id, ProjectPause.expert_id == expert_id,
        ProjectPause.lifted_at.is_(None))).first()
    if paused:
        return
    session.add(ProjectPause(project_id=project.id, expert_id=expert_id, reason=reason, created_at=now))
    repo.release_live_leases(session, project.id, expert_id)
    name = session.get_one(Expert, expert_id).name
    session.add(Notification(kind="trainer_paused", project_id=project.id, expert_id=expert_id,
                             message=f"{name} was paused from project {project.id}: {reason}", created_at=now))


# -- adaptive overlap ------------------------------------------------------------------------------
def _adapt(session: Session, project: Project, item: Item, evidence: ItemEvidence, now: datetime,
           events: list[dict]) -> None:
    from ..quality.adaptive import AdaptiveOverlap

    spec = project.adaptive_overlap
    assert spec is not None  # called only for a project with adaptive overlap
    posteriors = evidence.posteriors()
    if not posteriors:
        return
    model = evidence.model
    assert model is not None  # posteriors come from the model
    weakest = min(posteriors, key=lambda p: p.max())
    confidence = float(weakest.max())
    tiers_cfg = project.tiers or {}
    escalation = tiers_cfg.get("escalation_tier")
    escalated_at = evidence.escalated_at
    # The rule counts the item's counted judgments, not its filled slots (``done_count`` still
    # holds a slot for work whose consent was later withdrawn).
    n_counted = len(evidence.judgments)
    n_senior = 0
    if escalated_at is not None:
        n_senior = sum(1 for _e, response, leased in evidence.judgments
                       if categorical_answers(evidence.task_type, response) and leased >= escalated_at)
    priced = _priced_tiers(session, project, model)
    rule = AdaptiveOverlap(min_judgments=spec["min"], max_judgments=spec["max"],
                           target_confidence=spec["target_confidence"], escalate=escalation is not None,
                           tiers=priced or None)
    decision = rule.decide_posterior(weakest, n_counted - n_senior, n_senior)
    item.confidence = confidence
    detail = {"decision": decision, "confidence": round(confidence, 4), "judgments": n_counted}
    if decision == rule.DONE:
        item.target_overlap, item.required_tier = item.done_count, None
    elif decision == rule.ESCALATE:
        item.target_overlap = item.done_count + 1
        if item.required_tier != escalation:
            item.required_tier = escalation
            _event(events, item.id, "escalated", {"tier": escalation, "confidence": round(confidence, 4),
                                                   "reason": f"still below {spec['target_confidence']} "
                                                             f"after {item.done_count} judgments"}, now)
            session.add(Notification(kind="item_escalated", project_id=project.id, item_id=item.id, created_at=now,
                                     message=f"item {item.external_id or item.id} escalated to {escalation}: "
                                             f"confidence {confidence:.2f} after {item.done_count} judgments"))
    else:
        item.target_overlap = item.done_count + 1
        if priced:
            chosen = rule.route(weakest)
            item.required_tier = chosen.name if chosen is not None else None
            detail["tier"] = item.required_tier
    _event(events, item.id, "decided", detail, now)


def _priced_tiers(session: Session, project: Project, model: TrainerModel) -> list:
    """Tiers with a rate, each with its cost per judgment and its measured confusion matrix."""
    from ..quality.adaptive import Tier

    tiers = [t for t in (project.tiers or {}).get("tiers", []) if t.get("hourly_rate_usd")]
    if len(tiers) < 2:
        return []
    minutes = _typical_minutes(session, project)
    experts = {e.id: e for e in session.execute(select(Expert).where(
        Expert.id.in_(model.trainer_ids))).scalars()}
    out = []
    for tier in tiers:
        members = [k for k, tid in enumerate(model.trainer_ids)
                   if tid in experts and tier["name"] in expert_tiers(project, experts[tid], set())]
        cost = float(tier["hourly_rate_usd"]) * minutes / 60
        if members:
            weights = np.array([max(model.trainer_judgments.get(model.trainer_ids[k], 1), 1) for k in members],
                               dtype=float)
            confusion = np.average(model.confusions[members], axis=0, weights=weights)
            out.append(Tier(name=tier["name"], cost=cost, confusion=confusion))
        else:
            out.append(Tier(name=tier["name"], cost=cost, accuracy=UNMEASURED_TIER_ACCURACY))
    return out


def _typical_minutes(session: Session, project: Project) -> float:
    seconds = list(session.execute(select(Assignment.active_seconds).where(
        Assignment.project_id == project.id, repo.counted_judgment()).limit(500)).scalars())
    if not seconds:
        return project.max_minutes_per_task / 2
    return max(statistics.median(seconds) / 60, 0.5)


# -- factcheck disagreement ------------------------------------------------------------------------
def _escalate_on_disagreement(session: Session, project: Project, item: Item, now: datetime,
                              events: list[dict]) -> None:
    """Trainers who disagree on a factual claim send the item to the senior tier, once."""
    escalation = (project.tiers or {}).get("escalation_tier")
    if escalation is None or item.required_tier == escalation:
        return
    responses = session.execute(select(Assignment.response).where(
        Assignment.item_id == item.id, repo.counted_judgment())).scalars().all()
    if len(responses) < 2:
        return
    # Per claim as consensus matches them (a claim kept unchanged by its number, a corrected one
    # by its text): a claim two trainers judged differently is disputed.
    verdicts: dict[int, set[str]] = {}
    for r in responses:
        for part, verdict in claim_edits.parts(r):
            verdicts.setdefault(part, set()).add(verdict)
    disputed: list[int | str] = [p if p < claim_edits.TEXT_PART_BASE else claim_edits.claim_id(p)
                                 for p, vs in sorted(verdicts.items()) if len(vs) > 1]
    if not disputed:
        return
    item.required_tier = escalation
    item.target_overlap = item.done_count + 1
    _event(events, item.id, "escalated", {"tier": escalation, "reason": "trainers disagree on claims",
                                           "claims": disputed}, now)
    session.add(Notification(kind="item_escalated", project_id=project.id, item_id=item.id, created_at=now,
                             message=f"item {item.external_id or item.id} escalated to {escalation}: "
                                     f"trainers disagree on claim(s) "
                                     f"{', '.join(str(i + 1) if isinstance(i, int) else i for i in disputed)}"))


def _event(events: list[dict], item_id: int, kind: str, detail: dict, now: datetime) -> None:
    events.append({"item_id": item_id, "kind": kind, "detail": detail, "created_at": now})


