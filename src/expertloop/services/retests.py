"""Blind re-tests: is each expert consistent with themselves?

With a project's ``retest_rate`` r, a lease serves, with probability r, one of the trainer's own
earlier judged items again — at least ``retest_after_hours`` after their first judgment, never a
gold item, each item at most once — as an ordinary assignment (``retest_of`` points at the
first judgment; the trainer's view carries no mark, no item id or external id, and the same AI
suggestion and experiment-arm guidelines a fresh lease would show) with its answers in a fresh
order.

A re-test is paid like any task. Submitted, it is ``retested`` — not a judgment that counts
(:func:`expertloop.storage.repositories.counted_judgment` leaves it out): it takes no slot, is
never exported, reviewed or counted in consensus. Trainers see it as ``submitted``. It is
compared with the first judgment:
the share of categorical answers given alike is the trainer's test–retest agreement, shown on
the scorecard with a Wilson interval.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..domain.assignments import AssignmentState, lease_expiry
from ..domain.grading import categorical_answers
from ..domain.people import answers_agree
from ..domain.presentation import make_presentation
from ..storage import repositories as repo
from ..storage.orm import Assignment, Item, Project
from . import ai_help
from .uow import reads

PRESENTATION_TRIES = 32  # draws for an order other than the first one's (where more than one exists)


def claim_retest(session: Session, project: Project, expert_id: int, consent_id: int | None, now: datetime,
                 rng: random.Random) -> Assignment | None:
    """A re-test lease of one of the expert's earlier items, or None when none is due."""
    retest = aliased(Assignment)
    already = select(retest.id).where(retest.retest_of == Assignment.id).exists()
    cutoff = now - timedelta(hours=project.retest_after_hours)
    q = (select(Assignment).join(Item, Item.id == Assignment.item_id)
         .where(Assignment.project_id == project.id, Assignment.expert_id == expert_id, repo.counted_judgment(),
                Assignment.submitted_at <= cutoff, Item.gold.is_(None), ~already)
         .order_by(func.random()).limit(1))
    first = session.execute(q).scalar_one_or_none()
    if first is None:
        return None
    item = session.get_one(Item, first.item_id)
    presentation = make_presentation(project.task_type, item.payload, rng)
    for _ in range(PRESENTATION_TRIES):
        if presentation is None or presentation != first.presentation:
            break
        presentation = make_presentation(project.task_type, item.payload, rng)
    shown = (first.presentation or {}).get("guidelines")
    if shown is not None:  # an experiment arm's guidelines, as the first time: nothing differs
        presentation = {**(presentation or {}), "guidelines": shown}
    a = Assignment(project_id=project.id, item_id=item.id, expert_id=expert_id,
                   state=AssignmentState.leased.value, leased_at=now,
                   lease_expires_at=lease_expiry(now, project.lease_minutes), last_seen_at=now,
                   active_seconds=0.0, guidelines_version=project.guidelines_version, consent_id=consent_id,
                   presentation=presentation, retest_of=first.id,
                   ai_assistance=ai_help.shown(session, project, item.id, now))
    session.add(a)
    session.flush()
    return a


@reads
def retest_pairs(session: Session, project_id: int, expert_id: int | None = None) -> list[tuple[int, int, dict, dict]]:
    """(expert, item, first response, re-test response) for each submitted re-test whose first
    judgment still counts."""
    first = aliased(Assignment)
    q = (select(Assignment.expert_id, Assignment.item_id, first.response, Assignment.response)
         .join(first, first.id == Assignment.retest_of)
         .where(Assignment.project_id == project_id,
                Assignment.state == AssignmentState.retested.value, repo.consent_stands(),
                first.state.in_([AssignmentState.submitted.value, AssignmentState.accepted.value])))
    if expert_id is not None:
        q = q.where(Assignment.expert_id == expert_id)
    return [(e, i, r1, r2) for e, i, r1, r2 in session.execute(q)]


@reads
def retest_agreement(session: Session, project: Project, expert_id: int | None = None) -> dict[int, dict]:
    """Per expert: re-tests compared, the agreement (mean share of answers given alike) and its
    95% Wilson interval. Task types without categorical answers have none."""
    from ..quality import wilson_interval

    credit: dict[int, list[float]] = defaultdict(list)
    for e, _item, r1, r2 in retest_pairs(session, project.id, expert_id):
        share = answers_agree(categorical_answers(project.task_type, r1 or {}),
                              categorical_answers(project.task_type, r2 or {}))
        if share is not None:
            credit[e].append(share)
    out = {}
    for e, shares in credit.items():
        n, k = len(shares), sum(shares)
        low, high = wilson_interval(k, n)
        out[e] = {"pairs": n, "agreement": round(k / n, 4), "low": round(float(low), 4),
                  "high": round(float(high), 4)}
    return out


def below_retest_floor(session: Session, project: Project, expert_id: int) -> str | None:
    """Why the expert is below the project's retest-agreement floor (the 95% upper bound of their
    agreement under it, with at least ``min_retests`` re-tests), or None."""
    floor = project.quality_floor or {}
    if floor.get("retest_agreement") is None:
        return None
    card = retest_agreement(session, project, expert_id).get(expert_id)
    if card is None or card["pairs"] < floor.get("min_retests", 5):
        return None
    if card["high"] >= floor["retest_agreement"]:
        return None
    return (f"re-test agreement {card['agreement']:.0%} over {card['pairs']} re-tests; 95% upper bound "
            f"{card['high']:.0%} is below the project's floor of {floor['retest_agreement']:.0%}")
