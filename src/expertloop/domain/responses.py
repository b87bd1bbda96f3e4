"""Responses: what a trainer submits per task type, checked against the project and item.

A response that does not fit is refused with every problem named by field path, e.g.
``response.claims[1].verdict: must be one of supported, refuted, not_enough_info``.
"""

from __future__ import annotations

from typing import Any

from .checks import Checker, join, type_name
from .errors import ValidationFailed
from .projects import TaskType

VERDICTS = ("supported", "refuted", "not_enough_info")
MAX_TEXT = 100_000


def parse_response(response: Any, task_type: TaskType, options: dict, payload: dict,
                   loc: str = "response") -> dict:
    """Validate and normalise a response; raises ValidationFailed naming each bad field."""
    c = Checker()
    obj = c.mapping(response, loc)
    if obj is None:
        c.raise_if_any()
    c.json(obj, loc)
    c.raise_if_any()
    out = _RULES[task_type](c, obj, options, payload, loc)
    for key, value in out.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            c.fail(join(loc, key), f"is longer than {MAX_TEXT} characters")
    c.raise_if_any()
    return out


def _sft(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("completion",), loc)
    return {"completion": c.text(obj, "completion", loc)}


def _preference(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("choice", "strength", "rationale", "criteria"), loc)
    choice = obj.get("choice")
    allow_ties = options.get("allow_ties", True)
    valid = (0, 1, "tie") if allow_ties else (0, 1)
    if isinstance(choice, bool) or choice not in valid:
        c.fail(join(loc, "choice"), f"must be one of {', '.join(map(repr, valid))}; got {choice!r}")
    strength = c.integer(obj, "strength", loc, lo=1, hi=3, required=False)
    rationale = c.text(obj, "rationale", loc, required=False, allow_empty=True)
    criteria_names = options.get("criteria") or []
    criteria = {}
    raw = obj.get("criteria") or {}
    if not isinstance(raw, dict):
        c.fail(join(loc, "criteria"), f"must be an object of criterion -> 1..5, got {type_name(raw)}")
    else:
        for name, score in raw.items():
            where = join(join(loc, "criteria"), name)
            if criteria_names and name not in criteria_names:
                c.fail(where, f"unknown criterion (expected one of: {', '.join(criteria_names)})")
                continue
            value = c.int_value(score, where, lo=1, hi=5)
            if value is not None:
                criteria[name] = value
    out = {"choice": choice}
    if strength is not None:
        out["strength"] = strength
    if rationale:
        out["rationale"] = rationale
    if criteria:
        out["criteria"] = criteria
    return out


def _ranking(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("order",), loc)
    k = len(payload.get("responses", []))
    order = obj.get("order")
    if (not isinstance(order, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in order)
            or sorted(order) != list(range(k))):
        c.fail(join(loc, "order"), f"must list every response index 0..{k - 1} once, best first; got {order!r}")
    return {"order": order}


def _factcheck(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("claims",), loc)
    n = len(payload.get("claims", []))
    claims = obj.get("claims")
    where = join(loc, "claims")
    if not isinstance(claims, list):
        c.fail(where, f"must be a list with one verdict per claim ({n})")
        return {"claims": []}
    if len(claims) != n:
        c.fail(where, f"must hold one entry per claim: expected {n}, got {len(claims)}")
    out = []
    for i, claim in enumerate(claims):
        cloc = join(where, i)
        if not isinstance(claim, dict):
            c.fail(cloc, "must be an object with verdict, evidence, correction")
            continue
        c.no_unknown(claim, ("verdict", "evidence", "correction"), cloc)
        verdict = claim.get("verdict")
        if verdict not in VERDICTS:
            c.fail(join(cloc, "verdict"), f"must be one of {', '.join(VERDICTS)}; got {verdict!r}")
        evidence = c.string_list(claim, "evidence", cloc, required=False) or []
        correction = c.text(claim, "correction", cloc, required=False, allow_empty=True)
        out.append({"verdict": verdict, "evidence": [e.strip() for e in evidence if e.strip()],
                    "correction": correction or None})
    return {"claims": out}


def _rubric(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("scores", "comment"), loc)
    criteria = {crit["name"]: crit["scale"] for crit in options.get("criteria", [])}
    scores = obj.get("scores")
    where = join(loc, "scores")
    out: dict = {}
    if not isinstance(scores, dict):
        c.fail(where, f"must be an object with a score for each of: {', '.join(criteria)}")
    else:
        for name in scores:
            if name not in criteria:
                c.fail(join(where, name), f"unknown criterion (expected one of: {', '.join(criteria)})")
        for name, (lo, hi) in criteria.items():
            if name not in scores:
                c.fail(join(where, name), "is required")
                continue
            value = c.int_value(scores[name], join(where, name), lo=lo, hi=hi)
            if value is not None:
                out[name] = value
    comment = c.text(obj, "comment", loc, required=False, allow_empty=True)
    return {"scores": out, "comment": comment or None}


def _label(c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
    c.no_unknown(obj, ("label",), loc)
    labels = options.get("labels", [])
    label = obj.get("label")
    if label not in labels:
        c.fail(join(loc, "label"), f"must be one of {', '.join(labels)}; got {label!r}")
    return {"label": label}


_RULES = {
    TaskType.sft: _sft,
    TaskType.preference: _preference,
    TaskType.ranking: _ranking,
    TaskType.factcheck: _factcheck,
    TaskType.rubric: _rubric,
    TaskType.label: _label,
}


def normalise_gold(gold: Any, task_type: TaskType, options: dict, payload: dict, loc: str) -> dict:
    """Gold is a full response, or a shorthand: a label, a choice, a list of verdicts, an order."""
    if not isinstance(gold, dict):
        if task_type == TaskType.label:
            gold = {"label": gold}
        elif task_type == TaskType.preference:
            gold = {"choice": gold}
        elif task_type == TaskType.ranking:
            gold = {"order": gold}
        elif task_type == TaskType.factcheck and isinstance(gold, list):
            gold = {"claims": [v if isinstance(v, dict) else {"verdict": v} for v in gold]}
        else:
            raise ValidationFailed(f"must be a {task_type.value} response object", loc=loc)
    return parse_response(gold, task_type, options, payload, loc=loc)
