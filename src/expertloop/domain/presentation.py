"""What a trainer is shown: the item in the per-assignment order, without gold or model names.

Preference and ranking answers are shuffled per assignment so that no answer is always shown
first; the order is stored with the assignment so position bias can be measured later. Model
names are withheld so they cannot sway the judgment. Each task type decides
(``TaskTypeSpec.make_presentation`` / ``trainer_view``).
"""

from __future__ import annotations

import random

from .tasks import task_type
from .tasks.base import Obj


def make_presentation(t: str, payload: Obj, rng: random.Random) -> Obj | None:
    return task_type(t).make_presentation(payload, rng)


def trainer_view(t: str, payload: Obj, presentation: Obj | None) -> Obj:
    """The item payload as a trainer sees it. Each shown response keeps its imported ``index``,
    which is what a response's ``choice`` / ``order`` refer to."""
    return task_type(t).trainer_view(payload, presentation)


def shown_first(presentation: Obj | None) -> int | None:
    order = (presentation or {}).get("order")
    return order[0] if order else None
