"""What a trainer is shown: the item in the per-assignment order, without gold or model names.

Preference and ranking answers are shuffled per assignment so that no answer is always shown
first; the order is stored with the assignment so position bias can be measured later. Model
names are withheld so they cannot sway the judgment.
"""

from __future__ import annotations

import random

from .projects import TaskType

_SHUFFLED = (TaskType.preference, TaskType.ranking)


def make_presentation(task_type: TaskType, payload: dict, rng: random.Random) -> dict | None:
    if task_type not in _SHUFFLED:
        return None
    order = list(range(len(payload.get("responses", []))))
    rng.shuffle(order)
    return {"order": order}


def trainer_view(task_type: TaskType, payload: dict, presentation: dict | None) -> dict:
    """The item payload as a trainer sees it. Each shown response keeps its imported ``index``,
    which is what a response's ``choice`` / ``order`` refer to."""
    view = {k: v for k, v in payload.items() if k != "responses"}
    if "responses" in payload:
        order = (presentation or {}).get("order") or list(range(len(payload["responses"])))
        view["responses"] = [{"index": i, "text": payload["responses"][i]["text"]} for i in order]
    return view


def shown_first(presentation: dict | None) -> int | None:
    order = (presentation or {}).get("order")
    return order[0] if order else None
