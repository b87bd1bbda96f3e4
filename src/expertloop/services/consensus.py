"""A project's categorical judgments as arrays, and their Dawid–Skene consensus.

Shared by the quality report, consensus exports and adaptive overlap, so all three read the
same judgments the same way: one categorical answer per label/preference/ranking judgment
(the top choice for rankings), one per claim for fact-checks, keyed ``"item:part"``.

The fit reads the whole project, so it never runs inside a request's write transaction: the
``refit_consensus`` job (:func:`refit_consensus`) computes it and stores it in
``consensus_fits``; :func:`latest_consensus` reads the stored fit (kept decoded in memory per
process until a newer one is stored); :func:`trainer_model` gives the submit path only the
per-trainer part (confusions and class prior), which is small.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer

from ..domain.grading import categorical_answers
from ..domain.projects import TaskType
from ..storage import repositories as repo
from ..storage.orm import Assignment, ConsensusFit, Consent, GoldDispute, Item, Job
from .clock import utcnow
from .uow import read as uow_read
from .uow import reads, run_write

# What a trainer is assumed to get right before overlap or gold says otherwise (the prior of the
# consensus model, BayesianDawidSkene.prior_accuracy): the confidence a lone judgment gets.
PRIOR_ACCURACY = 0.7


def key_of(item_id: int, part: int) -> str:
    return f"{item_id}:{part}"


@dataclass
class ProjectJudgments:
    keys: list[str] = field(default_factory=list)          # "item:part"
    item_ids: list[int] = field(default_factory=list)
    experts: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    leased_at: list[datetime] = field(default_factory=list)
    submitted_at: list[datetime] = field(default_factory=list)
    gold: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)


@reads
def project_judgments(session: Session, project_id: int, task_type: TaskType) -> ProjectJudgments:
    """The project's counted judgments (``repositories.counted_judgment``) as parallel lists."""
    rows = session.execute(select(Assignment.item_id, Assignment.expert_id, Assignment.response,
                                  Assignment.leased_at, Assignment.submitted_at, Item.gold)
                           .join(Item, Item.id == Assignment.item_id)
                           .where(Assignment.project_id == project_id, repo.counted_judgment())
                           .order_by(Assignment.id)).all()
    out = ProjectJudgments()
    for item_id, expert_id, response, leased_at, submitted_at, gold in rows:
        for part, value in categorical_answers(task_type, response):
            out.keys.append(key_of(item_id, part))
            out.item_ids.append(item_id)
            out.experts.append(expert_id)
            out.labels.append(value)
            out.leased_at.append(leased_at)
            out.submitted_at.append(submitted_at)
        if gold is not None:
            out.gold.update({key_of(item_id, part): value for part, value in categorical_answers(task_type, gold)})
    return out


@dataclass
class Consensus:
    """Fitted Dawid–Skene consensus: per key its label and posterior; per trainer a confusion."""

    model: Any  # the estimator (fresh) or a FittedModel (stored): the same array attributes
    data: ProjectJudgments
    index: dict[str, int]

    def label(self, key: str) -> str | None:
        row = self.index.get(key)
        return None if row is None else str(self.model.labels_[row])

    def posterior(self, key: str) -> float | None:
        """Posterior probability of ``label(key)`` (not renormalised over the labels given)."""
        row = self.index.get(key)
        if row is None:
            return None
        chosen = getattr(self.model, "confidence_", None)
        return float(self.model.probas_[row].max() if chosen is None else chosen[row])

    def agreement_by_day(self) -> dict:
        """Per day of submission: [judgments agreeing with this consensus, judgments]. Computed
        once per fit (stored fits stay in memory), so pages do not walk every judgment."""
        cached = getattr(self, "_by_day", None)
        if cached is None:
            cached = {}
            for key, label, when in zip(self.data.keys, self.data.labels, self.data.submitted_at, strict=False):
                tally = cached.setdefault(when.date(), [0, 0])
                tally[0] += label == self.label(key)
                tally[1] += 1
            self._by_day = cached
        return cached


def fit_consensus(data: ProjectJudgments, *, max_iter: int = 100) -> Consensus | None:
    """Bayesian Dawid–Skene (community prior, gold-clamped) on a project's judgments; None when there are none.

    A lone judgment is its item's consensus unless gold shows its trainer unreliable (then it stays the
    answer, with a low posterior); a consensus label is always one that a trainer gave."""
    from ..quality import BayesianDawidSkene

    if not len(data):
        return None
    keys = set(data.keys)
    model = BayesianDawidSkene(max_iter=max_iter, tol=1e-6, prior_accuracy=PRIOR_ACCURACY).fit(
        np.array(data.keys, dtype=object), np.array(data.experts), np.array(data.labels, dtype=object),
        gold={k: v for k, v in data.gold.items() if k in keys} or None)
    return Consensus(model=model, data=data, index={str(k): i for i, k in enumerate(model.item_ids_)})


@reads
def latest_consensus(session: Session, project_id: int, task_type: TaskType, *,
                     fresh: bool = False) -> Consensus | None:
    """The project's consensus as readers (dashboards, the quality report, exports) should see it.

    The one entry point for readers: the stored fit of the ``refit_consensus`` job. When the
    project has none yet, or the caller asks ``fresh=True`` (an export, outside any write
    transaction) and the stored one no longer covers every judgment, it is fitted here."""
    stored = stored_consensus(session, project_id)
    if stored is not None and (not fresh or not _stale(session, project_id, stored)):
        return stored
    # Fitted here: kept in memory for these exact judgments, so an export that checks before it
    # streams (or a second export) does not fit twice.
    return _cached(session, project_id, "fresh", judgments_version(session, project_id),
                   lambda: fit_consensus(project_judgments(session, project_id, task_type)))


def judgments_version(session: Session, project_id: int) -> tuple:
    """What a fit of the project reads, as a version that every write changing it changes: the
    counted judgments (count, newest id and sum of ids: a submit adds an id), every review of the
    project (count and latest: a rejection removes a judgment, an edit changes an answer), every
    consent withdrawal (count and latest: it removes judgments), and every gold correction
    (upheld disputes). The judgment count alone is not a version: a rejection and a new submit,
    or a gold correction, leave it as it was. Reads only indexed columns, never payloads."""
    counted = session.execute(select(
        func.count(), func.max(Assignment.id), func.coalesce(func.sum(Assignment.id), 0))
        .where(Assignment.project_id == project_id, repo.counted_judgment())).one()
    reviews = session.execute(select(func.count(), func.max(Assignment.reviewed_at)).where(
        Assignment.project_id == project_id, Assignment.reviewed_at.is_not(None))).one()
    withdrawn = session.execute(select(func.count(), func.max(Consent.withdrawn_at)).where(
        Consent.project_id == project_id, Consent.withdrawn_at.is_not(None))).one()
    gold = session.execute(select(func.count(), func.max(GoldDispute.decided_at)).where(
        GoldDispute.project_id == project_id, GoldDispute.state == "upheld")).one()
    return tuple(str(v) for row in (counted, reviews, withdrawn, gold) for v in row)


# -- the stored fit --------------------------------------------------------------------------------
@dataclass
class FittedModel:
    """The arrays of a fit that readers use (the same names as the estimator's)."""

    item_ids_: np.ndarray
    labels_: np.ndarray
    probas_: np.ndarray
    classes_: np.ndarray
    confusions_: np.ndarray
    class_prior_: np.ndarray
    trainer_ids_: np.ndarray
    # The estimator's posterior of each chosen label and its per-trainer reliability with a 95%
    # credible interval, when the fit had them (stored fits read the same numbers as fresh ones).
    confidence_: np.ndarray | None = None
    reliability_: np.ndarray | None = None
    reliability_interval_: np.ndarray | None = None


@dataclass(frozen=True)
class TrainerModel:
    """The per-trainer half of a stored fit: enough to compute one item's posterior."""

    classes: list[str]
    trainer_ids: list[int]
    confusions: np.ndarray        # (trainers, K, K): [true class, answer]
    class_prior: np.ndarray       # (K,)
    trainer_judgments: dict[int, int]   # judged items (tasks) behind each trainer's confusion
    reliability: dict[int, tuple[float, int]]  # trainer_reliability() of the fit
    judgments: int
    last_assignment_id: int | None
    fitted_at: datetime
    prior_confusion: np.ndarray | None = None  # every trainer's confusion before the first fit

    @classmethod
    def uninformed(cls, classes: list[str], accuracy: float = PRIOR_ACCURACY) -> TrainerModel:
        """A stand-in before the project's first fit: every trainer right with ``accuracy`` and
        wrong evenly otherwise, classes equally likely. It lets the submit path decide from the
        item's own judgments (work proportional to the item) while the refit job fits the
        project; trainers have no measured reliability, so no quality floor can pause anyone."""
        k = len(classes)
        confusion = np.full((k, k), (1 - accuracy) / max(k - 1, 1))
        np.fill_diagonal(confusion, accuracy)
        return cls(classes=list(classes), trainer_ids=[], confusions=np.zeros((0, k, k)),
                   class_prior=np.full(k, 1 / k), trainer_judgments={}, reliability={}, judgments=0,
                   last_assignment_id=None, fitted_at=utcnow(), prior_confusion=confusion)

    def confusion_of(self, expert_id: int) -> np.ndarray:
        """The trainer's confusion; a trainer new since the fit gets the judgment-weighted
        average of the fitted trainers' (a typical trainer of this project)."""
        row = self._rows.get(expert_id)
        return self.confusions[row] if row is not None else self.default_confusion

    @property
    def _rows(self) -> dict[int, int]:
        return {t: i for i, t in enumerate(self.trainer_ids)}

    @property
    def default_confusion(self) -> np.ndarray:
        if self.prior_confusion is not None:
            return self.prior_confusion
        weights = np.array([self.trainer_judgments.get(t, 1) for t in self.trainer_ids], dtype=float)
        return np.average(self.confusions, axis=0, weights=weights)


@dataclass(frozen=True)
class _Version:
    fitted_at: datetime
    judgments: int
    last_assignment_id: int | None


_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, int, str], tuple[object, object]] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(session: Session, project_id: int, part: str, version: object, load):
    key = (str(session.get_bind().engine.url), project_id, part)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == version:
            _cache.move_to_end(key)
            return hit[1]
    value = load()
    with _cache_lock:
        _cache[key] = (version, value)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _version_row(session: Session, project_id: int) -> ConsensusFit | None:
    return session.execute(select(ConsensusFit).options(
        defer(ConsensusFit.trainer_model), defer(ConsensusFit.item_posteriors), defer(ConsensusFit.quality_report))
        .where(ConsensusFit.project_id == project_id)).scalar_one_or_none()


def _version(row: ConsensusFit) -> _Version:
    return _Version(row.fitted_at, row.judgments, row.last_assignment_id)


def _pack(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # numpy's stub types **kwds as if one could be its allow_pickle flag; ours are named arrays
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _blob(session: Session, project_id: int, column) -> bytes:
    return session.execute(select(column).where(ConsensusFit.project_id == project_id)).scalar_one()


@reads
def trainer_model(session: Session, project_id: int) -> TrainerModel | None:
    """The per-trainer part of the project's stored fit, or None before the first fit."""
    row = _version_row(session, project_id)
    if row is None:
        return None

    def load() -> TrainerModel:
        a = _unpack(_blob(session, project_id, ConsensusFit.trainer_model))
        ids = [int(t) for t in a["trainer_ids"]]
        return TrainerModel(classes=[str(c) for c in a["classes"]], trainer_ids=ids,
                            confusions=a["confusions"], class_prior=a["class_prior"],
                            trainer_judgments=dict(zip(ids, (int(n) for n in a["trainer_judgments"]), strict=True)),
                            reliability={t: (float(r), int(n)) for t, r, n in
                                         zip(a["reliability_ids"].tolist(), a["reliability"].tolist(),
                                             a["reliability_n"].tolist(), strict=True)},
                            judgments=row.judgments, last_assignment_id=row.last_assignment_id,
                            fitted_at=row.fitted_at)

    return _cached(session, project_id, "trainers", _version(row), load)


@reads
def stored_consensus(session: Session, project_id: int) -> Consensus | None:
    """The project's stored fit as a :class:`Consensus`, or None before the first fit."""
    row = _version_row(session, project_id)
    if row is None:
        return None

    def load() -> Consensus:
        t = _unpack(_blob(session, project_id, ConsensusFit.trainer_model))
        p = _unpack(_blob(session, project_id, ConsensusFit.item_posteriors))
        model = FittedModel(item_ids_=p["item_ids"].astype(object), labels_=p["labels"].astype(object),
                            probas_=p["probas"], classes_=t["classes"].astype(object),
                            confusions_=t["confusions"], class_prior_=t["class_prior"],
                            trainer_ids_=t["trainer_ids"], confidence_=p.get("confidence"),
                            reliability_=t.get("reliability_mean"),
                            reliability_interval_=t.get("reliability_interval"))
        data = ProjectJudgments(
            keys=p["keys"].tolist(), item_ids=p["judged_item_ids"].tolist(), experts=p["experts"].tolist(),
            labels=p["answers"].tolist(), leased_at=_times(p["leased_at"]), submitted_at=_times(p["submitted_at"]),
            gold=dict(zip(p["gold_keys"].tolist(), p["gold_values"].tolist(), strict=True)))
        return Consensus(model=model, data=data, index={str(k): i for i, k in enumerate(model.item_ids_)})

    return _cached(session, project_id, "consensus", _version(row), load)


def _micros(times: list[datetime]) -> np.ndarray:
    return np.array([int(t.timestamp() * 1_000_000) for t in times], dtype=np.int64)


def _times(micros: np.ndarray) -> list[datetime]:
    return [t.replace(tzinfo=UTC) for t in micros.astype("datetime64[us]").tolist()]


def _coverage(session: Session, project_id: int) -> tuple[int, int | None]:
    """(judgments, newest judgment id) of the project as a fit would read them now."""
    n, last = session.execute(select(func.count(), func.max(Assignment.id)).where(
        Assignment.project_id == project_id, repo.counted_judgment())).one()
    return int(n), last


def _still_counted(session: Session, project_id: int, judgments: int, last_id: int | None) -> bool:
    """Whether every judgment a fit read still counts: the judgments up to the newest it read are
    as many as it read. Newer judgments may have arrived (the next refit takes them); a withdrawal
    or a rejection among those it read means the fit must never be stored."""
    if last_id is None:
        return True
    n = session.execute(select(func.count()).where(
        Assignment.project_id == project_id, Assignment.id <= last_id, repo.counted_judgment())).scalar_one()
    return int(n) == judgments


def _stale(session: Session, project_id: int, stored: Consensus) -> bool:
    row = _version_row(session, project_id)
    if row is None:
        return True
    pending = session.execute(select(Job.id).where(Job.dedupe_key == f"refit_consensus:{project_id}")).first()
    return pending is not None or _coverage(session, project_id) != (row.judgments, row.last_assignment_id)


def forget_fit(session: Session, project_id: int) -> None:
    """Drop the project's stored fit and quality snapshot (inside the caller's write unit) and
    queue the job that makes them again: for changes readers must never see the old fit or report
    for, such as a consent withdrawal. Until the job runs, readers fit on the request and the
    quality report says it is being computed."""
    from ..storage.orm import Project
    from . import jobs, reports

    session.execute(delete(ConsensusFit).where(ConsensusFit.project_id == project_id))
    reports.forget_snapshot(session, project_id)
    task_type = session.execute(select(Project.task_type).where(Project.id == project_id)).scalar_one()
    kind = reports.refresh_kind(task_type)
    jobs.enqueue(session, kind, project_id=project_id, debounce=True,
                 payload=None if kind == jobs.REFIT_CONSENSUS else {"force": True})


def refit_consensus(session: Session, project_id: int, *, now: datetime | None = None) -> dict:
    """The ``refit_consensus`` job: read the project's judgments (a read unit), fit them (no
    transaction open) and store the fit (a short write unit), then the quality report computed
    from it (``services.reports``: the project's snapshot). A fit older than the stored one (two
    workers racing) is not stored."""
    from ..storage.orm import Project
    from . import reports

    with uow_read(session):
        project = session.get(Project, project_id)
        if project is None:
            return {"skipped": "project not found"}
        task_type = TaskType(project.task_type)
        judgments, last_id = _coverage(session, project_id)
        data = project_judgments(session, project_id, task_type)
        covered = reports.coverage(session, project_id)
    fitted = fit_consensus(data)
    if fitted is None:  # no categorical judgment yet: the report says so
        if covered[1] is None or not _report_stale(session, project_id, covered):
            return {"judgments": judgments, "fitted": False}
        stored_report = reports.store_for_fit(session, project_id, None, covered)
        return {"judgments": judgments, "fitted": False, "report": stored_report}
    stored = run_write(session, lambda: store_fit(session, project_id, task_type, fitted, judgments, last_id,
                                                  now=now))
    # The report is computed from this fit after it is stored, so its model sections (judges
    # against the consensus) read the same fit; it is kept when the fit was stored.
    stored_report = stored and reports.store_for_fit(session, project_id, fitted, covered)
    return {"judgments": judgments, "last_assignment_id": last_id, "fitted": True, "stored": stored,
            "report": stored_report}


def _report_stale(session: Session, project_id: int, covered: tuple) -> bool:
    from ..storage.orm import QualitySnapshot

    with uow_read(session):
        row = session.get(QualitySnapshot, project_id)
        return row is None or (row.judgments, row.last_assignment_id, row.last_reviewed_at) != covered


def store_fit(session: Session, project_id: int, task_type: TaskType, fitted: Consensus, judgments: int,
              last_id: int | None, *, now: datetime | None = None) -> bool:
    """Store ``fitted`` as the project's fit unless a fit covering later judgments is stored, or a
    judgment the fit read no longer counts (withdrawn or rejected while it was being fitted: the
    refit queued by that change stores the right one)."""
    row = session.get(ConsensusFit, project_id)
    if row is not None and (row.last_assignment_id or 0) > (last_id or 0):
        return False
    if not _still_counted(session, project_id, judgments, last_id):
        return False
    trainers, items = _serialise(fitted)
    if row is None:
        row = ConsensusFit(project_id=project_id)
        session.add(row)
    row.task_type, row.judgments, row.last_assignment_id = task_type.value, judgments, last_id
    row.fitted_at = now or utcnow()
    row.trainer_model, row.item_posteriors = trainers, items
    session.flush()
    return True


def _serialise(c: Consensus) -> tuple[bytes, bytes]:
    model, data = c.model, c.data
    trainer_ids = np.array([int(t) for t in model.trainer_ids_], dtype=np.int64)
    tasks: dict[int, int] = {}  # judged items per trainer: a fact-check's claims are one task
    for expert_id, _item in set(zip(data.experts, data.item_ids, strict=True)):
        tasks[expert_id] = tasks.get(expert_id, 0) + 1
    reliability = trainer_reliability(c)
    rel_ids = sorted(reliability)
    trainers = _pack(classes=np.array([str(x) for x in model.classes_]), trainer_ids=trainer_ids,
                     confusions=np.asarray(model.confusions_, dtype=float),
                     class_prior=np.asarray(model.class_prior_, dtype=float),
                     trainer_judgments=np.array([tasks.get(int(t), 0) for t in trainer_ids], dtype=np.int64),
                     reliability_ids=np.array(rel_ids, dtype=np.int64),
                     reliability=np.array([reliability[t][0] for t in rel_ids], dtype=float),
                     reliability_n=np.array([reliability[t][1] for t in rel_ids], dtype=np.int64),
                     **_optional(reliability_mean=getattr(model, "reliability_", None),
                                 reliability_interval=getattr(model, "reliability_interval_", None)))
    items = _pack(item_ids=np.array([str(x) for x in model.item_ids_]),
                  labels=np.array([str(x) for x in model.labels_]),
                  probas=np.asarray(model.probas_, dtype=float),
                  keys=np.array(data.keys, dtype=str), judged_item_ids=np.array(data.item_ids, dtype=np.int64),
                  experts=np.array(data.experts, dtype=np.int64), answers=np.array(data.labels, dtype=str),
                  leased_at=_micros(data.leased_at), submitted_at=_micros(data.submitted_at),
                  gold_keys=np.array(list(data.gold), dtype=str),
                  gold_values=np.array(list(data.gold.values()), dtype=str),
                  **_optional(confidence=getattr(model, "confidence_", None)))
    return trainers, items


def _optional(**arrays: np.ndarray | None) -> dict[str, np.ndarray]:
    """The arrays a fit has (an estimator without intervals stores none)."""
    return {k: np.asarray(v, dtype=float) for k, v in arrays.items() if v is not None}


def _tasks_per_trainer(consensus: Consensus) -> dict[int, int]:
    judged = set(zip(consensus.data.experts, consensus.data.item_ids, strict=False))  # tasks, not claims: a
    counts: dict[int, int] = {}                                         # fact-check's claims are
    for expert_id, _item in judged:                                     # not independent evidence
        counts[expert_id] = counts.get(expert_id, 0) + 1
    return counts


def trainer_reliability(consensus: Consensus | None) -> dict[int, tuple[float, int]]:
    """Per trainer: (estimated accuracy, judged items behind it).

    The accuracy is the posterior mean of the class-prior-weighted diagonal of the trainer's confusion
    (BayesianDawidSkene.reliability_), the number the quality report's scorecards show and the quality
    floor tests. A trainer with no overlap and no gold keeps the prior accuracy."""
    return {t: (mean, n) for t, (mean, _low, _high, n) in trainer_reliability_interval(consensus).items()}


def trainer_reliability_interval(consensus: Consensus | None) -> dict[int, tuple[float, float, float, int]]:
    """Per trainer: (posterior mean accuracy, 95% credible low, high, judged items behind it)."""
    if consensus is None:
        return {}
    model = consensus.model
    counts = _tasks_per_trainer(consensus)
    mean = getattr(model, "reliability_", None)
    if mean is None:  # a plain Dawid–Skene fit: no interval, the point estimate at both ends
        mean = np.einsum("tkk->tk", model.confusions_) @ model.class_prior_
        interval = np.column_stack([mean, mean])
    else:
        interval = model.reliability_interval_
    return {int(t): (float(a), float(lo), float(hi), counts.get(int(t), 0))
            for t, a, (lo, hi) in zip(model.trainer_ids_, mean, interval, strict=True)}
