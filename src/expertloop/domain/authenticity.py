"""Authenticity of free-text answers: the writing-process aggregates a client may send, the
similarity of an answer to the item's model outputs, and the flags they raise.

What is recorded, per free-text field, is only a handful of counts and summaries — characters
typed and pasted, paste events and their sizes, time away from the tab, text that appeared
without keystrokes (drag and drop, autofill, scripts), and a summary of the pauses between keys
(how many, median, 10th and 90th percentile in milliseconds). Never which keys were pressed,
never the text of a paste. :func:`parse_signals` enforces that shape: anything else is refused.

A flag is a question for a person, not a verdict: it goes to staff with its evidence, the
expert is told and may reply, and nothing changes pay by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ValidationFailed

MAX_FIELDS = 50
MAX_FIELD_NAME = 100
MAX_PASTE_SIZES = 50
MAX_COUNT = 10_000_000
MAX_SECONDS = 10_000_000.0
MAX_MS = 3_600_000.0

COUNTS = ("typed_chars", "pasted_chars", "paste_events", "inserted_without_keys", "insert_events_without_keys",
          "keystrokes", "away_events", "final_chars")
SECONDS = ("away_seconds",)
RHYTHM = ("median_ms", "p10_ms", "p90_ms")
FIELD_KEYS = (*COUNTS, *SECONDS, "paste_sizes", "interkey")

# The statuses of a check, and which of them count as human-authenticated work.
NO_SIGNALS, CLEAR, FLAGGED, CLEARED, UPHELD = "no_signals", "clear", "flagged", "cleared", "upheld"
STATUSES = (NO_SIGNALS, CLEAR, FLAGGED, CLEARED, UPHELD)
DECISIONS = (CLEARED, UPHELD)

_NAME = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,100}$")


@dataclass(frozen=True)
class Thresholds:
    """When a free-text field is flagged (documented defaults in docs/integrity.md).

    ``unkeyed_share``: the share of a field's final text that arrived by paste or other
    insertion without keystrokes; ``similarity``: the share of an answer's character 5-grams
    found in one model output; ``min_chars``: shorter fields are never flagged (a pasted URL,
    a one-line correction)."""

    unkeyed_share: float = 0.5
    similarity: float = 0.8
    min_chars: int = 200


def _int(value: object, loc: str, top: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValidationFailed(f"must be a whole number from 0 to {top}", loc=loc)
    return value


def _num(value: object, loc: str, top: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
        raise ValidationFailed(f"must be a number from 0 to {top:g}", loc=loc)
    return round(float(value), 3)


def parse_signals(raw: object, loc: str = "authenticity") -> dict[str, dict[str, Any]] | None:
    """The per-field aggregates, checked against their bounded schema; None when absent.

    ``{"<field>": {"typed_chars": 120, "pasted_chars": 0, "paste_events": 0, "paste_sizes": [],
    "inserted_without_keys": 0, "insert_events_without_keys": 0, "keystrokes": 131,
    "away_seconds": 4.2, "away_events": 1, "final_chars": 118,
    "interkey": {"n": 130, "median_ms": 160, "p10_ms": 90, "p90_ms": 420}}}``; every key is
    optional, no other key is accepted."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationFailed("must be an object of fields, each with its writing aggregates", loc=loc)
    if len(raw) > MAX_FIELDS:
        raise ValidationFailed(f"may describe at most {MAX_FIELDS} fields", loc=loc)
    out: dict[str, dict[str, Any]] = {}
    for name, agg in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationFailed("field names are 1–100 letters, digits, '_', '-', '.', '[' or ']'", loc=loc)
        here = f"{loc}.{name}"
        if not isinstance(agg, dict):
            raise ValidationFailed("must be an object of aggregates", loc=here)
        unknown = sorted(set(agg) - set(FIELD_KEYS))
        if unknown:
            raise ValidationFailed(f"unknown key {unknown[0]!r}; only aggregates are accepted "
                                   f"({', '.join(FIELD_KEYS)})", loc=here)
        clean: dict[str, Any] = {}
        for key in COUNTS:
            if key in agg:
                clean[key] = _int(agg[key], f"{here}.{key}")
        for key in SECONDS:
            if key in agg:
                clean[key] = _num(agg[key], f"{here}.{key}", MAX_SECONDS)
        if "paste_sizes" in agg:
            sizes = agg["paste_sizes"]
            if not isinstance(sizes, list) or len(sizes) > MAX_PASTE_SIZES:
                raise ValidationFailed(f"must be a list of at most {MAX_PASTE_SIZES} sizes", loc=f"{here}.paste_sizes")
            clean["paste_sizes"] = [_int(s, f"{here}.paste_sizes[{i}]") for i, s in enumerate(sizes)]
        if "interkey" in agg:
            rhythm = agg["interkey"]
            if not isinstance(rhythm, dict) or set(rhythm) - {"n", *RHYTHM}:
                raise ValidationFailed(f"must be an object with n, {', '.join(RHYTHM)}", loc=f"{here}.interkey")
            r: dict[str, Any] = {}
            if "n" in rhythm:
                r["n"] = _int(rhythm["n"], f"{here}.interkey.n")
            for key in RHYTHM:
                if key in rhythm:
                    r[key] = _num(rhythm[key], f"{here}.interkey.{key}", MAX_MS)
            clean["interkey"] = r
        out[name] = clean
    return out


def text_fields(response: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a response (``completion``, ``claims[1].correction``)."""
    if isinstance(response, str):
        yield path, response
    elif isinstance(response, dict):
        for key, value in response.items():
            yield from text_fields(value, f"{path}.{key}" if path else str(key))
    elif isinstance(response, list):
        for i, value in enumerate(response):
            yield from text_fields(value, f"{path}[{i}]")


_MODEL_KEYS = ("responses", "response", "candidates", "completion", "completions", "answer", "answers",
               "model_answer", "model_answers", "model_output", "model_outputs", "steps")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for key in ("text", "content", "output"):
            if isinstance(value.get(key), str):
                yield value[key]


def model_outputs(payload: object, meta: object = None) -> list[str]:
    """The model-written texts of an item: its candidate responses (``responses``,
    ``response``, ``candidates``, ``steps``…), assistant turns of its ``messages``, and a
    model's answer to the same prompt where the item's metadata carries one
    (``model_answer`` / ``model_answers``)."""
    out: list[str] = []
    for source in (payload, meta):
        if not isinstance(source, dict):
            continue
        for key in _MODEL_KEYS:
            if key in source:
                out.extend(_strings(source[key]))
        for message in source.get("messages") or []:
            if isinstance(message, dict) and message.get("role") == "assistant":
                out.extend(_strings(message))
    return [t for t in out if t.strip()]


def _grams(text: str, n: int = 5) -> set[str]:
    t = " ".join(text.lower().split())[:20_000]
    return {t[i:i + n] for i in range(max(len(t) - n + 1, 0))}


def similarity(answer: str, outputs: list[str]) -> tuple[float, int | None]:
    """(score, index of the closest output): the share of the answer's character 5-grams
    (lower-cased, spaces collapsed) that one model output contains; 0 with no outputs."""
    mine = _grams(answer)
    if not mine:
        return 0.0, None
    best, at = 0.0, None
    for i, output in enumerate(outputs):
        score = len(mine & _grams(output)) / len(mine)
        if score > best:
            best, at = score, i
    return round(best, 4), at


def assess(signals: dict[str, dict[str, Any]] | None, response: object, outputs: list[str],
           thresholds: Thresholds) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(similarity per free-text field, reasons to flag). A reason names its field, its kind
    (``unkeyed_text`` or ``close_to_model_output``), the figure and the threshold it crossed."""
    reasons: list[dict[str, Any]] = []
    sims: dict[str, dict[str, Any]] = {}
    for path, text in text_fields(response):
        if len(text.strip()) < 20:
            continue
        score, at = similarity(text, outputs)
        sims[path] = {"score": score, "output": at, "chars": len(text)}
        if outputs and len(text) >= thresholds.min_chars and score >= thresholds.similarity:
            reasons.append({"field": path, "kind": "close_to_model_output", "value": score,
                            "threshold": thresholds.similarity})
    for name, agg in (signals or {}).items():
        unkeyed = agg.get("pasted_chars", 0) + agg.get("inserted_without_keys", 0)
        total = max(agg.get("final_chars", 0), agg.get("typed_chars", 0) + unkeyed)
        if total < thresholds.min_chars or not unkeyed:
            continue
        share = round(min(unkeyed / total, 1.0), 4)
        if share >= thresholds.unkeyed_share:
            reasons.append({"field": name, "kind": "unkeyed_text", "value": share,
                            "threshold": thresholds.unkeyed_share})
    return sims, reasons


def initial_status(signals: dict[str, dict[str, Any]] | None, reasons: list[dict[str, Any]]) -> str:
    if reasons:
        return FLAGGED
    return CLEAR if signals else NO_SIGNALS


def human_authenticated(status: str, has_signals: bool) -> bool:
    """Writing-process signals were recorded and nothing is held against the work."""
    return has_signals and status in (CLEAR, CLEARED)


def export_view(status: str | None, signals: dict[str, Any] | None, similarity: dict[str, Any] | None,
                reasons: list[Any] | None) -> dict[str, Any]:
    """The ``authenticity`` of an exported record from its check's columns (``status`` None:
    the judgment has no check): the signals, the closest similarity, the reasons and the
    outcome (``no_free_text`` when the answer had none)."""
    if status is None:
        return {"outcome": "no_free_text", "human_authenticated": False, "signals": None, "similarity": None,
                "reasons": []}
    best = max((s["score"] for s in (similarity or {}).values()), default=None)
    return {"outcome": status, "human_authenticated": human_authenticated(status, bool(signals)),
            "signals": signals, "similarity": best, "reasons": reasons or []}
