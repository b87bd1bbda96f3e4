"""Items: the unit of work per task type, and how an imported record becomes one.

What a payload must hold is each task type's rule (``TaskTypeSpec.check_payload``); a type that
accepts several layouts stores one (``TaskTypeSpec.clean_payload``).

A record is flat: the task's own fields (``prompt``, ``responses``, ``claims``...) plus the
control fields ``external_id``, ``priority``, ``metadata`` and ``gold``. ``gold`` is the known
answer, stored apart from the payload so it can never reach a trainer by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import Checker, join, text_problem
from .responses import normalise_gold
from .tasks import task_type
from .tasks.base import Obj

CONTROL_FIELDS = ("external_id", "priority", "metadata", "gold")
MAX_EXTERNAL_ID = 200


@dataclass(frozen=True)
class ItemSpec:
    payload: Obj
    external_id: str | None = None
    priority: int = 0
    metadata: Obj | None = None
    gold: Obj | None = None


def parse_item(record: Any, t: str, options: Obj, loc: str = "", *, json_checked: bool = False) -> ItemSpec:
    """Validate one imported record for a project; ValidationFailed names each bad field.

    ``json_checked``: the caller has already found the record storable
    (:func:`~expertloop.domain.checks.storable_json`), so the walk over every value is skipped."""
    c = Checker(storable=json_checked)
    obj = c.require_mapping(record, loc or "item")
    if not json_checked:
        c.json(obj, loc)
        c.raise_if_any()
    payload = {k: v for k, v in obj.items() if k not in CONTROL_FIELDS}
    external_id = obj.get("external_id")
    if external_id is not None:
        if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
            c.fail(join(loc, "external_id"), "must be a string")
        external_id = str(external_id).strip() or None
        if external_id is not None:
            problem = text_problem(external_id)
            if problem is None and len(external_id) > MAX_EXTERNAL_ID:
                problem = f"must be at most {MAX_EXTERNAL_ID} characters, got {len(external_id)}"
            if problem:
                c.fail(join(loc, "external_id"), problem)
    priority = c.integer(obj, "priority", loc, lo=-1_000_000, hi=1_000_000, required=False) or 0
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        c.fail(join(loc, "metadata"), "must be an object")
    payload = task_type(t).clean_payload(c, payload, loc)
    c.raise_if_any()
    gold = None
    if obj.get("gold") is not None:
        gold = normalise_gold(obj["gold"], t, options, payload, join(loc, "gold"))
    return ItemSpec(payload=payload, external_id=external_id, priority=priority,
                    metadata=metadata, gold=gold)

