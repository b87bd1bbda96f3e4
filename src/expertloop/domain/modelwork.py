"""What a project asks of models, as pure rules: candidate answers (``candidates``), the
judge that screens items before experts (``judge_first``), which model writes which candidate,
and the prompts a model is sent for an item.

Endpoint names are checked against the registered endpoints by the service; here only shapes.
"""

from __future__ import annotations

import json
from typing import Any

from .checks import Checker, join
from .tasks import TaskType

Obj = dict[str, Any]
CANDIDATE_TYPES = (TaskType.preference, TaskType.ranking)
MAX_CANDIDATE_MODELS = 16
MAX_PER_ITEM = 10
MAX_TOKENS = 32_768


def parse_candidates(c: Checker, value: Any, task_type: TaskType | None, loc: str = "candidates") -> Obj | None:
    """``{"models": [endpoint…], "per_item": 2, "temperature": 0.7, "max_tokens": 1024}``: each item
    imported without ``responses`` gets ``per_item`` answers, written by the models in turn."""
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail(loc, "must be an object such as {\"models\": [\"model-a\", \"model-b\"], \"per_item\": 2}")
        return None
    if task_type is not None and task_type not in CANDIDATE_TYPES:
        c.fail(loc, f"applies to {' and '.join(t.value for t in CANDIDATE_TYPES)} projects only")
        return None
    c.no_unknown(value, ("models", "per_item", "temperature", "max_tokens", "system"), loc)
    models = c.string_list(value, "models", loc) or []
    if not models:
        c.fail(join(loc, "models"), "must name at least one model endpoint")
    elif len(models) > MAX_CANDIDATE_MODELS:
        c.fail(join(loc, "models"), f"must name at most {MAX_CANDIDATE_MODELS} endpoints")
    lo, hi = (2, 2) if task_type == TaskType.preference else (2, MAX_PER_ITEM)
    per_item = c.integer(value, "per_item", loc, lo=lo, hi=hi, required=False) or 2
    temperature = _number(c, value, "temperature", loc, 0.0, 2.0)
    max_tokens = c.integer(value, "max_tokens", loc, lo=1, hi=MAX_TOKENS, required=False)
    system = c.text(value, "system", loc, required=False, max_len=20_000)
    out: Obj = {"models": models, "per_item": per_item, "temperature": temperature, "max_tokens": max_tokens}
    if system:
        out["system"] = system
    return out


def parse_claims(c: Checker, value: Any, task_type: TaskType | None, loc: str = "claims") -> Obj | None:
    """``{"model": endpoint}``: fact-check items imported without ``claims`` have their response
    split into atomic claims by this model."""
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail(loc, "must be an object such as {\"model\": \"splitter\"}")
        return None
    if task_type is not None and task_type != TaskType.factcheck:
        c.fail(loc, "applies to factcheck projects only")
        return None
    c.no_unknown(value, ("model",), loc)
    return {"model": c.text(value, "model", loc, max_len=64)}


CLAIMS_SYSTEM = ("You are a judge of factual accuracy. Split the RESPONSE into atomic claims: short, "
                 "self-contained statements of fact that can each be checked on their own, in the order they "
                 "appear, leaving out opinions and questions. Reply with JSON only: {\"claims\": [\"...\", ...]}.")


def claims_messages(payload: Obj) -> list[Obj]:
    user = f"PROMPT:\n{payload.get('prompt', '')}\n\nRESPONSE:\n{payload.get('response', '')}"
    return [{"role": "system", "content": CLAIMS_SYSTEM}, {"role": "user", "content": user}]


def read_claims(text: str, max_claims: int = 100) -> list[str]:
    """The claims in a splitter's reply: ``{"claims": [...]}``, or else one per bulleted line."""
    import json
    import re

    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            obj = json.loads(match.group(0))
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("claims"), list):
            return [c.strip() for c in obj["claims"] if isinstance(c, str) and c.strip()][:max_claims]
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if line][:max_claims]


def parse_judge_first(c: Checker, value: Any, task_type: TaskType | None, loc: str = "judge_first") -> Obj | None:
    """``{"model": endpoint, "min_agreement": 0.8}``: items the judge decides consistently (same
    answer in both orders) at ``min_agreement`` confidence or more need no expert."""
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail(loc, "must be an object such as {\"model\": \"judge\", \"min_agreement\": 0.8}")
        return None
    if task_type is not None and task_type not in (TaskType.preference, TaskType.label):
        c.fail(loc, "applies to preference and label projects only")
        return None
    c.no_unknown(value, ("model", "min_agreement"), loc)
    model = c.text(value, "model", loc, max_len=64)
    min_agreement = _number(c, value, "min_agreement", loc, 0.5, 1.0)
    return {"model": model, "min_agreement": 0.8 if min_agreement is None else min_agreement}


def _number(c: Checker, obj: Obj, key: str, loc: str, lo: float, hi: float) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        c.fail(join(loc, key), f"must be a number from {lo:g} to {hi:g}; got {value!r}")
        return None
    return float(value)


def candidate_plan(models: list[str], per_item: int, item_id: int) -> dict[str, int]:
    """How many answers each model writes for one item: the models take turns, starting at a
    model that moves with the item id, so with more models than answers every pairing occurs."""
    plan: dict[str, int] = {}
    for slot in range(per_item):
        name = models[(item_id + slot) % len(models)]
        plan[name] = plan.get(name, 0) + 1
    return plan


def prompt_of(payload: Obj, system: str | None = None) -> list[Obj]:
    """The chat messages to send for an item: its ``messages``, or its ``prompt`` as one user turn."""
    messages: list[Obj]
    if isinstance(payload.get("messages"), list):
        messages = [{"role": m.get("role"), "content": m.get("content")} for m in payload["messages"]
                    if isinstance(m, dict)]
    else:
        messages = [{"role": "user", "content": str(payload.get("prompt", ""))}]
    if system and not (messages and messages[0].get("role") == "system"):
        messages = [{"role": "system", "content": system}, *messages]
    return messages


# -- AI help on exported records ---------------------------------------------------------------
def ai_assistance_record(record: Obj | None) -> Obj | None:
    """``metadata.ai_assistance`` of an exported judgment: one flat shape for every type (the
    suggestion as JSON text; ``claim_split`` null or the split shown, with what was done to it),
    so ``datasets`` reads any export."""
    if not record:
        return None
    split = record.get("claim_split")
    return {"kind": record["kind"], "model": record.get("model"), "endpoint": record.get("endpoint"),
            "suggestion": json.dumps(record["suggestion"], ensure_ascii=False, sort_keys=True),
            "shown_at": record.get("shown_at"), "action": record.get("action"),
            "edit_distance": record.get("edit_distance"), "distance_unit": record.get("distance_unit"),
            "claim_split": None if not split else {
                "model": split.get("model"), "endpoint": split.get("endpoint"),
                "claims": list(split.get("claims") or []), "action": split.get("action"),
                "edit_distance": split.get("edit_distance"), "changes": split.get("changes")}}


def ai_assistance_summary(records: list[Obj | None]) -> Obj | None:
    """An item's consensus record: how many of its judgments were AI-assisted and how."""
    shown_ = [r for r in records if r]
    if not shown_:
        return None
    return {"judgments": len(records), "assisted": len(shown_),
            "accepted": sum(r.get("action") == "accepted" for r in shown_),
            "edited": sum(r.get("action") == "edited" for r in shown_),
            "discarded": sum(r.get("action") == "discarded" for r in shown_)}
