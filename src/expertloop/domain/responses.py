"""Responses: what a trainer submits per task type, checked against the project and item.

A response that does not fit is refused with every problem named by field path, e.g.
``response.claims[1].verdict: must be one of supported, refuted, not_enough_info``. The rules
of each type live in its module under ``domain/tasks/``.
"""

from __future__ import annotations

from typing import Any

from .checks import Checker, join
from .errors import ValidationFailed
from .tasks import task_type
from .tasks.base import MAX_TEXT, Obj
from .tasks.factcheck import VERDICTS

__all__ = ["MAX_TEXT", "VERDICTS", "normalise_gold", "parse_response"]


def parse_response(response: Any, t: str, options: Obj, payload: Obj, loc: str = "response") -> Obj:
    """Validate and normalise a response; raises ValidationFailed naming each bad field."""
    c = Checker()
    obj = c.require_mapping(response, loc)
    c.json(obj, loc)
    c.raise_if_any()
    out = task_type(t).check_response(c, obj, options, payload, loc)
    for key, value in out.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            c.fail(join(loc, key), f"is longer than {MAX_TEXT} characters")
    c.raise_if_any()
    return out


def normalise_gold(gold: Any, t: str, options: Obj, payload: Obj, loc: str) -> Obj:
    """Gold is a full response, or a shorthand: a label, a choice, a list of verdicts, an order."""
    spec = task_type(t)
    if not isinstance(gold, dict):
        full = spec.gold_shorthand(gold)
        if full is None:
            raise ValidationFailed(f"must be a {spec.name} response object", loc=loc)
        gold = full
    return parse_response(gold, t, options, payload, loc=loc)
