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
# Trainers are assumed right more often than not (see DawidSkene.diagonal_prior): without it a
# unanimous panel plus one dissenter can leave an obvious item at 0.75 confidence, and adaptive
# overlap would buy judgments the item does not need.
DIAGONAL_PRIOR = 0.5


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

    model: object
    data: ProjectJudgments
    index: dict[str, int]

    def label(self, key: str) -> str | None:
        row = self.index.get(key)
        return None if row is None else str(self.model.labels_[row])

    def posterior(self, key: str) -> float | None:
        row = self.index.get(key)
        return None if row is None else float(self.model.probas_[row].max())


def fit_consensus(data: ProjectJudgments, *, max_iter: int = 100) -> Consensus | None:
    """Dawid–Skene (gold-clamped) on a project's judgments; None when there are none."""
    from ..quality import DawidSkene

    if not len(data):
        return None
    model = DawidSkene(max_iter=max_iter, tol=1e-6, diagonal_prior=DIAGONAL_PRIOR).fit(
        np.array(data.keys, dtype=object), np.array(data.experts), np.array(data.labels, dtype=object),
        gold={k: v for k, v in data.gold.items() if k in set(data.keys)} or None)
    return Consensus(model=model, data=data, index={str(k): i for i, k in enumerate(model.item_ids_)})


def latest_consensus(session: Session, project_id: int, task_type: TaskType) -> Consensus | None:
    """The project's consensus as readers (dashboards, the quality report, exports) should see it.

    The one entry point for readers, so that where the fit comes from (fitted here, or a stored
    fit kept fresh by a job) is decided in one place."""
    return fit_consensus(project_judgments(session, project_id, task_type))


def trainer_reliability(consensus: Consensus | None) -> dict[int, tuple[float, int]]:
    """Per trainer: (estimated accuracy, judged items behind it).

    The accuracy is the class-prior-weighted diagonal of the trainer's Dawid–Skene confusion,
    the same number the quality report's scorecards show and the quality floor tests."""
    if consensus is None:
        return {}
    model = consensus.model
    accuracy = np.einsum("tkk->tk", model.confusions_) @ model.class_prior_
    judged = set(zip(consensus.data.experts, consensus.data.item_ids, strict=False))  # tasks, not claims: a
    counts: dict[int, int] = {}                                         # fact-check's claims are
    for expert_id, _item in judged:                                     # not independent evidence
        counts[expert_id] = counts.get(expert_id, 0) + 1
    return {int(t): (float(a), counts.get(int(t), 0)) for t, a in zip(model.trainer_ids_, accuracy, strict=False)}
