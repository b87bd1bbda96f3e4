"""A project's categorical judgments as arrays, and their Dawid–Skene consensus.

Shared by the quality report, consensus exports and adaptive overlap, so all three read the
same judgments the same way: one categorical answer per label/preference/ranking judgment
(the top choice for rankings), one per claim for fact-checks, keyed ``"item:part"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.assignments import DONE_STATES
from ..domain.grading import categorical_answers
from ..domain.projects import TaskType
from ..storage import repositories as repo
from ..storage.orm import Assignment, Item

_DONE = [s.value for s in DONE_STATES]
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


def project_judgments(session: Session, project_id: int, task_type: TaskType) -> ProjectJudgments:
    rows = session.execute(select(Assignment.item_id, Assignment.expert_id, Assignment.response,
                                  Assignment.leased_at, Assignment.submitted_at, Item.gold)
                           .join(Item, Item.id == Assignment.item_id)
                           .where(Assignment.project_id == project_id, Assignment.state.in_(_DONE),
                                  repo.consent_stands())
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

    model: object
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


def latest_consensus(session: Session, project_id: int, task_type: TaskType) -> Consensus | None:
    """The project's consensus as readers (dashboards, the quality report, exports) should see it.

    The one entry point for readers, so that where the fit comes from (fitted here, or a stored
    fit kept fresh by a job) is decided in one place."""
    return fit_consensus(project_judgments(session, project_id, task_type))


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
