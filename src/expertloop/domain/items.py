"""Items: the unit of work per task type, and how an imported record becomes one.

A record is flat: the task's own fields (``prompt``, ``responses``, ``claims``...) plus the
control fields ``external_id``, ``priority``, ``metadata`` and ``gold``. ``gold`` is the known
answer, stored apart from the payload so it can never reach a trainer by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import Checker, join, text_problem
from .projects import TaskType
from .responses import normalise_gold

CONTROL_FIELDS = ("external_id", "priority", "metadata", "gold")
MAX_EXTERNAL_ID = 200
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ItemSpec:
    payload: dict
    external_id: str | None = None
    priority: int = 0
    metadata: dict | None = None
    gold: dict | None = None


def parse_item(record: Any, task_type: TaskType, options: dict, loc: str = "") -> ItemSpec:
    """Validate one imported record for a project; ValidationFailed names each bad field."""
    c = Checker()
    obj = c.mapping(record, loc or "item")
    if obj is None:
        c.raise_if_any()
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
    _check_payload(c, task_type, payload, loc)
    c.raise_if_any()
    gold = None
    if obj.get("gold") is not None:
        gold = normalise_gold(obj["gold"], task_type, options, payload, join(loc, "gold"))
    return ItemSpec(payload=payload, external_id=external_id, priority=priority,
                    metadata=metadata, gold=gold)


def _check_payload(c: Checker, task_type: TaskType, payload: dict, loc: str) -> None:
    if task_type in (TaskType.sft, TaskType.preference, TaskType.ranking):
        _prompt_or_messages(c, payload, loc)
        allowed = {"prompt", "messages"}
        if task_type != TaskType.sft:
            _responses(c, payload, loc, exactly=2 if task_type == TaskType.preference else None)
            allowed.add("responses")
        c.no_unknown(payload, allowed, loc)
    elif task_type == TaskType.factcheck:
        c.text(payload, "prompt", loc)
        c.text(payload, "response", loc)
        claims = c.string_list(payload, "claims", loc, min_len=1)
        for i, claim in enumerate(claims or []):
            if not claim.strip():
                c.fail(join(join(loc, "claims"), i), "must not be empty")
        c.no_unknown(payload, ("prompt", "response", "claims"), loc)
    elif task_type == TaskType.rubric:
        c.text(payload, "prompt", loc)
        c.text(payload, "response", loc)
        c.no_unknown(payload, ("prompt", "response"), loc)
    elif task_type == TaskType.label:
        if not payload:
            c.fail(loc, "needs at least one field to show, such as \"text\"")


def _prompt_or_messages(c: Checker, payload: dict, loc: str) -> None:
    has_prompt, has_messages = "prompt" in payload, "messages" in payload
    if has_prompt == has_messages:
        c.fail(loc, "needs exactly one of \"prompt\" or \"messages\"")
        return
    if has_prompt:
        c.text(payload, "prompt", loc)
        return
    messages = payload["messages"]
    where = join(loc, "messages")
    if not isinstance(messages, list) or not messages:
        c.fail(where, "must be a non-empty list of {role, content}")
        return
    for i, msg in enumerate(messages):
        mloc = join(where, i)
        if not isinstance(msg, dict):
            c.fail(mloc, "must be an object with role and content")
            continue
        if msg.get("role") not in ROLES:
            c.fail(join(mloc, "role"), f"must be one of {', '.join(ROLES)}")
        c.text(msg, "content", mloc)
        c.no_unknown(msg, ("role", "content"), mloc)


def _responses(c: Checker, payload: dict, loc: str, exactly: int | None) -> None:
    where = join(loc, "responses")
    responses = payload.get("responses")
    if not isinstance(responses, list):
        c.fail(where, "is required: a list of {text, model}")
        return
    if exactly is not None and len(responses) != exactly:
        c.fail(where, f"must hold exactly {exactly} responses, got {len(responses)}")
    elif len(responses) < 2:
        c.fail(where, f"must hold at least 2 responses, got {len(responses)}")
    for i, resp in enumerate(responses):
        rloc = join(where, i)
        if not isinstance(resp, dict):
            c.fail(rloc, "must be an object with text and model")
            continue
        c.text(resp, "text", rloc)
        if resp.get("model") is not None and not isinstance(resp["model"], str):
            c.fail(join(rloc, "model"), "must be a string")
        c.no_unknown(resp, ("text", "model"), rloc)


def prompt_messages(payload: dict) -> list[dict]:
    """The conversation an item starts from, in TRL's conversational layout."""
    if "messages" in payload:
        return [{"role": m["role"], "content": m["content"]} for m in payload["messages"]]
    return [{"role": "user", "content": payload["prompt"]}]
