"""A model as a judge, as pure rules: the prompts it is sent for an item and how its reply is
read back into the item's own terms.

Pairwise items are judged twice, once in the imported order (``ab``: response 0 shown as A)
and once swapped (``ba``), so position bias shows as a judge that changes its answer when the
answers change places. Replies are asked for as JSON (``{"choice": "A", "confidence": 0.8}``)
and read leniently: the first JSON object in the text, or a lone letter or label.
"""

from __future__ import annotations

import json
import re
from typing import Any

Obj = dict[str, Any]
AB, BA, ONCE = "ab", "ba", "-"

PAIR_SYSTEM = ("You are a judge comparing two answers to the same request. Decide which answer is better "
               "(more correct, helpful and honest). Reply with JSON only: "
               "{\"choice\": \"A\" | \"B\" | \"tie\", \"confidence\": a number from 0 to 1}.")
LABEL_SYSTEM = ("You are a judge labelling an item. Choose exactly one of the labels listed. Reply with JSON "
                "only: {\"label\": \"<one of the labels>\", \"confidence\": a number from 0 to 1}.")


def _prompt_text(payload: Obj) -> str:
    if isinstance(payload.get("messages"), list):
        return "\n".join(f"{m.get('role')}: {m.get('content')}" for m in payload["messages"] if isinstance(m, dict))
    return str(payload.get("prompt", ""))


def pair_messages(payload: Obj, order: str, guidelines: str = "") -> list[Obj]:
    """The judge's messages for a two-answer item in ``order`` (``ab`` or ``ba``)."""
    texts = [r["text"] for r in payload["responses"][:2]]
    first, second = (texts[0], texts[1]) if order == AB else (texts[1], texts[0])
    user = (f"REQUEST:\n{_prompt_text(payload)}\n\n[ANSWER A]\n{first}\n[END A]\n\n[ANSWER B]\n{second}\n[END B]")
    if guidelines:
        user = f"GUIDELINES:\n{guidelines}\n\n{user}"
    return [{"role": "system", "content": PAIR_SYSTEM}, {"role": "user", "content": user}]


def label_messages(payload: Obj, labels: list[str], guidelines: str = "") -> list[Obj]:
    shown = {k: v for k, v in payload.items() if k not in ("gold",)}
    user = f"ITEM:\n{json.dumps(shown, ensure_ascii=False)}\n\nLABELS: {', '.join(labels)}"
    if guidelines:
        user = f"GUIDELINES:\n{guidelines}\n\n{user}"
    return [{"role": "system", "content": LABEL_SYSTEM}, {"role": "user", "content": user}]


def _json_object(text: str) -> Obj | None:
    for match in re.finditer(r"\{.*?\}", text, re.DOTALL):
        try:
            value = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _confidence(obj: Obj | None) -> float | None:
    value = (obj or {}).get("confidence")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return min(1.0, max(0.0, float(value)))


def read_pair(text: str, order: str) -> tuple[str | None, float | None]:
    """The imported index chosen (``"0"``, ``"1"``) or ``"tie"``, and the stated confidence;
    (None, None) when the reply names no choice."""
    obj = _json_object(text)
    raw = obj.get("choice") if obj else None
    if raw is None:
        bare = re.fullmatch(r"\s*\**\s*(A|B|tie)\s*\**\s*\.?\s*", text, re.IGNORECASE)
        raw = bare.group(1) if bare else None
    if not isinstance(raw, str):
        return None, None
    raw = raw.strip().lower()
    if raw == "tie":
        return "tie", _confidence(obj)
    if raw not in ("a", "b"):
        return None, None
    shown_first = raw == "a"
    index = (0 if shown_first else 1) if order == AB else (1 if shown_first else 0)
    return str(index), _confidence(obj)


def read_label(text: str, labels: list[str]) -> tuple[str | None, float | None]:
    obj = _json_object(text)
    raw = obj.get("label") if obj else text.strip().strip(".\"'")
    if not isinstance(raw, str):
        return None, None
    for label in labels:
        if raw.strip().lower() == label.lower():
            return label, _confidence(obj)
    return None, None


def item_verdict(answers: dict[str, tuple[str | None, float | None]]) -> tuple[str | None, float | None, bool]:
    """One item's verdict from its per-order answers: (answer, confidence, swap-consistent).
    A pairwise item judged differently in the two orders has no verdict (None, …, False)."""
    if ONCE in answers:
        ans, conf = answers[ONCE]
        return ans, conf, True
    if AB not in answers or BA not in answers:
        return None, None, False
    (a1, c1), (a2, c2) = answers[AB], answers[BA]
    if a1 is None or a1 != a2:
        return None, None, False
    confs = [c for c in (c1, c2) if c is not None]
    return a1, (sum(confs) / len(confs) if confs else None), True
