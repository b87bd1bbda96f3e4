"""Review sampling: which submitted judgments go to a level-1 reviewer (called by submit).

See :mod:`expertloop.services.review_tasks` for how sampled reviews are assigned and decided.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.people import ReviewSampling
from ..storage import repositories as repo
from ..storage.orm import Assignment, Project, ProjectPause, ReviewTask

_rng = random.SystemRandom()


def flagged(session: Session, project_id: int, expert_id: int) -> bool:
    """Flagged in this project: ever paused by the quality floor, or any work rejected in review."""
    paused = session.execute(select(ProjectPause.id).where(ProjectPause.project_id == project_id,
                                                           ProjectPause.expert_id == expert_id).limit(1)).first()
    if paused is not None:
        return True
    return session.execute(select(Assignment.id).where(
        Assignment.project_id == project_id, Assignment.expert_id == expert_id,
        Assignment.state == AssignmentState.rejected.value).limit(1)).first() is not None


def sample_for_review(session: Session, project: Project, a: Assignment, now: datetime,
                      rng: random.Random | None = None) -> ReviewTask | None:
    """Decide whether a just-submitted judgment goes to a level-1 reviewer; queue it if so."""
    if project.review_sampling is None or a.retest_of is not None:
        return None
    rule = ReviewSampling(**project.review_sampling)
    before = session.execute(select(func.count()).select_from(Assignment).where(
        Assignment.project_id == project.id, Assignment.expert_id == a.expert_id, Assignment.id != a.id,
        repo.counted_judgment())).scalar_one()
    share, reason = rule.rate_for(before, flagged(session, project.id, a.expert_id))
    if (rng or _rng).random() >= share:
        return None
    task = ReviewTask(project_id=project.id, assignment_id=a.id, level=1, reason=reason, state="queued",
                      created_at=now)
    session.add(task)
    return task
