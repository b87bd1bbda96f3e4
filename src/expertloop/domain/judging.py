"""A model as a judge, as pure rules: the prompts it is sent for an item and how its reply is
read back into the item's own terms.

Pairwise items are judged twice, once in the imported order (``ab``: response 0 shown as A)
and once swapped (``ba``), so position bias shows as a judge that changes its answer when the
answers change places. Ranking items likewise, in the imported order (``fwd``) and reversed
(``rev``); the answer kept is the top choice (the imported index), as the experts' consensus on
a ranking is. A fact-check is judged once, claim by claim: one answer per proposed claim, stored
under the order ``c<number>``. Replies are asked for as JSON (``{"choice": "A", "confidence":
0.8}``) and read leniently: the first JSON object in the text, or a lone letter or label.
"""

from __future__ import annotations

import json
import re
from typing import Any

Obj = dict[str, Any]
AB, BA, ONCE = "ab", "ba", "-"
FWD, REV = "fwd", "rev"
VERDICTS = ("supported", "refuted", "not_enough_info")

PAIR_SYSTEM = ("You are a judge comparing two answers to the same request. Decide which answer is better "
               "(more correct, helpful and honest). Reply with JSON only: "
               "{\"choice\": \"A\" | \"B\" | \"tie\", \"confidence\": a number from 0 to 1}.")
RANK_SYSTEM = ("You are a judge ranking answers to the same request. Order them from best to worst (more "
               "correct, helpful and honest first). Reply with JSON only: {\"ranking\": [the answer letters, best "
               "first], \"confidence\": a number from 0 to 1 in the best answer}.")
VERDICT_SYSTEM = ("You are a judge checking facts. For each numbered claim about the response give one verdict: "
                  "supported, refuted or not_enough_info. Reply with JSON only: {\"verdicts\": [one verdict per "
                  "claim, in order], \"confidence\": a number from 0 to 1}.")
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


def ranking_order(k: int, order: str) -> list[int]:
    """The imported indices in the order a ranking judge is shown them (``fwd`` or ``rev``)."""
    return list(range(k)) if order == FWD else list(reversed(range(k)))


def ranking_messages(payload: Obj, order: str, guidelines: str = "") -> list[Obj]:
    """The judge's messages for a ranking item, its answers lettered A, B, C… in ``order``."""
    shown = ranking_order(len(payload["responses"]), order)
    blocks = "\n\n".join(f"[ANSWER {chr(65 + pos)}]\n{payload['responses'][i]['text']}\n[END {chr(65 + pos)}]"
                          for pos, i in enumerate(shown))
    user = f"REQUEST:\n{_prompt_text(payload)}\n\n{blocks}"
    if guidelines:
        user = f"GUIDELINES:\n{guidelines}\n\n{user}"
    return [{"role": "system", "content": RANK_SYSTEM}, {"role": "user", "content": user}]


def read_ranking(text: str, order: str, k: int) -> tuple[str | None, float | None]:
    """The imported index of the judge's best answer and its confidence; (None, None) when the
    reply names no valid ranking."""
    obj = _json_object(text)
    raw = obj.get("ranking") if obj else None
    if isinstance(raw, str):
        raw = re.findall(r"[A-Za-z]", raw)
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
        return None, None
    letter = raw[0].strip().upper()
    if len(letter) != 1 or not 0 <= ord(letter) - 65 < k:
        return None, None
    return str(ranking_order(k, order)[ord(letter) - 65]), _confidence(obj)


def claim_order(part: int) -> str:
    """The stored order of a fact-check judge's answer on proposed claim ``part``."""
    return f"c{part}"


def claim_part(order: str) -> int | None:
    return int(order[1:]) if order.startswith("c") and order[1:].isdigit() else None


def verdict_messages(payload: Obj, guidelines: str = "") -> list[Obj]:
    """The judge's messages for a fact-check item: the response and its numbered claims."""
    claims = "\n".join(f"{i + 1}. {claim}" for i, claim in enumerate(payload.get("claims") or []))
    user = f"PROMPT: {payload.get('prompt', '')}\nRESPONSE: {payload.get('response', '')}\nCLAIMS:\n{claims}"
    if guidelines:
        user = f"GUIDELINES:\n{guidelines}\n\n{user}"
    return [{"role": "system", "content": VERDICT_SYSTEM}, {"role": "user", "content": user}]


def read_verdicts(text: str, n: int) -> tuple[list[str | None], float | None]:
    """One verdict per claim (None where the reply gives none or an unknown one), and the
    stated confidence; a reply with a different number of verdicts gives none."""
    obj = _json_object(text)
    raw = obj.get("verdicts") if obj else None
    if not isinstance(raw, list) or len(raw) != n:
        return [None] * n, None
    out = [v.strip().lower().replace(" ", "_") if isinstance(v, str) else None for v in raw]
    return [v if v in VERDICTS else None for v in out], _confidence(obj)


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
    A pairwise or ranking item judged differently in the two orders has no verdict (None, …,
    False)."""
    if ONCE in answers:
        ans, conf = answers[ONCE]
        return ans, conf, True
    first, second = (FWD, REV) if FWD in answers or REV in answers else (AB, BA)
    if first not in answers or second not in answers:
        return None, None, False
    (a1, c1), (a2, c2) = answers[first], answers[second]
    if a1 is None or a1 != a2:
        return None, None, False
    confs = [c for c in (c1, c2) if c is not None]
    return a1, (sum(confs) / len(confs) if confs else None), True


def response_from_verdict(task_type: str, answer: str | None) -> Obj | None:
    """A judge's verdict on an item as a response of the item's type (what an export of a
    judge-settled item shows); None for a type or an answer that makes none."""
    if answer is None:
        return None
    if task_type == "preference":
        return {"choice": "tie" if answer == "tie" else int(answer)}
    if task_type == "label":
        return {"label": answer}
    return None
