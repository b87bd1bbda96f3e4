"""Comparing a response with a known answer (gold), and reading categorical answers out of
responses, for quality control, exams and truth inference. Each task type defines its own
rules (``domain/tasks/``); these functions ask the registry.

Gold is scored per part: a label, a choice or a ranking's top answer is one part; a fact-check
has one part per claim, so 2 of 3 claims right scores 2/3, not 0.
"""

from __future__ import annotations

from .tasks import TASK_TYPES, task_type
from .tasks.base import Obj

GRADABLE = tuple(t for t, spec in TASK_TYPES.items() if spec.gradable)


def gold_score(t: str, response: Obj, gold: Obj) -> float | None:
    """Share of the answer that matches gold, in [0, 1]; None where no gold comparison exists
    (free text and rubric scores)."""
    score = task_type(t).gold_score(response, gold)
    return None if score is None else score.share


def gold_tally(t: str, answered: list[tuple[Obj, Obj]]) -> tuple[int, int | float]:
    """(gradable gold tasks, credit) for (response, gold) pairs. Each task earns the share of
    its parts judged right (partial credit: a fact-check with 2 of 3 claims right earns 2/3), so
    ``credit / tasks`` is the gold accuracy and ``tasks`` the number of trials a Wilson interval
    counts (the claims of one item are not independent evidence). Credit is a whole number
    unless some task earned partial credit (then rounded to 4 places)."""
    spec = task_type(t)
    scores = [s for r, g in answered if (s := spec.gold_score(r, g)) is not None]
    credit = round(float(sum(s.share for s in scores)), 4)
    return len(scores), int(credit) if credit.is_integer() else credit


def categorical_answers(t: str, response: Obj) -> list[tuple[int, str]]:
    """The categorical judgments in a response as (part, value): one part for label,
    preference and ranking (its top choice), one per claim for factcheck, none otherwise."""
    return task_type(t).categorical_answers(response)
