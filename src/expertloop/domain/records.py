"""Training records in TRL's conversational layouts, built from one judgment.

Each builder takes the item payload, the response and the provenance ``metadata`` and returns
zero or more records (a tie yields no preference pair; a ranking of k yields k·(k-1)/2 pairs).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable

from .errors import ValidationFailed
from .items import prompt_messages
from .projects import TaskType


class ExportFormat(enum.StrEnum):
    sft = "sft"
    preference = "preference"
    kto = "kto"
    ranking = "ranking"
    factcheck = "factcheck"
    rubric = "rubric"
    label = "label"
    raw = "raw"


# Which project task types each export format can be built from.
COMPATIBLE = {
    ExportFormat.sft: {TaskType.sft},
    ExportFormat.preference: {TaskType.preference, TaskType.ranking},
    ExportFormat.ranking: {TaskType.ranking, TaskType.preference},
    ExportFormat.kto: {TaskType.preference, TaskType.ranking, TaskType.sft},
    ExportFormat.factcheck: {TaskType.factcheck},
    ExportFormat.rubric: {TaskType.rubric},
    ExportFormat.label: {TaskType.label},
    ExportFormat.raw: set(TaskType),
}


def check_compatible(fmt: ExportFormat, task_type: TaskType) -> None:
    if task_type not in COMPATIBLE[fmt]:
        allowed = ", ".join(sorted(f.value for f, types in COMPATIBLE.items() if task_type in types))
        raise ValidationFailed(f"a {task_type.value} project cannot be exported as {fmt.value}; "
                               f"use one of: {allowed}", loc="format")


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def ranked_order(task_type: TaskType, response: dict) -> list[int] | None:
    """Best-first indices of a judgment, or None for a tie."""
    if task_type == TaskType.ranking:
        return list(response["order"])
    choice = response["choice"]
    if choice == "tie":
        return None
    return [choice, 1 - choice]


def preference_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    order = ranked_order(task_type, response)
    if order is None:
        return []
    texts = [r["text"] for r in payload["responses"]]
    prompt = prompt_messages(payload)
    out = []
    for i, better in enumerate(order):
        for worse in order[i + 1:]:
            meta = {**metadata, "chosen_index": better, "rejected_index": worse,
                    "chosen_model": payload["responses"][better].get("model"),
                    "rejected_model": payload["responses"][worse].get("model")}
            if task_type == TaskType.preference:
                meta["strength"] = response.get("strength")
            out.append({"prompt": prompt, "chosen": _assistant(texts[better]),
                        "rejected": _assistant(texts[worse]), "metadata": meta})
    return out


def kto_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    prompt = prompt_messages(payload)
    if task_type == TaskType.sft:
        return [{"prompt": prompt, "completion": _assistant(response["completion"]), "label": True,
                 "metadata": metadata}]
    order = ranked_order(task_type, response)
    if order is None:
        return []
    texts = [r["text"] for r in payload["responses"]]
    return [{"prompt": prompt, "completion": _assistant(texts[order[0]]), "label": True, "metadata": metadata},
            {"prompt": prompt, "completion": _assistant(texts[order[-1]]), "label": False, "metadata": metadata}]


def sft_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    return [{"messages": prompt_messages(payload) + _assistant(response["completion"]), "metadata": metadata}]


def factcheck_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    claims = [{"claim": claim, **judged} for claim, judged in zip(payload["claims"], response["claims"], strict=False)]
    return [{"prompt": payload["prompt"], "response": payload["response"], "claims": claims,
             "metadata": metadata}]


def rubric_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    return [{"prompt": payload["prompt"], "response": payload["response"], "scores": response["scores"],
             "comment": response.get("comment"), "metadata": metadata}]


def label_records(task_type: TaskType, payload: dict, response: dict, metadata: dict) -> list[dict]:
    return [{**payload, "label": response["label"], "metadata": metadata}]


def raw_record(task_type: TaskType, payload: dict, response: dict, metadata: dict, *,
               presentation: dict | None, active_seconds: float, gold: dict | None) -> dict:
    """Everything about one judgment. Nested payloads are JSON text so every task type shares
    one column schema (Arrow and ``datasets`` need that)."""
    return {"task_type": task_type.value, "item": json.dumps(payload, ensure_ascii=False),
            "response": json.dumps(response, ensure_ascii=False),
            "presentation": json.dumps(presentation) if presentation else None,
            "gold": json.dumps(gold, ensure_ascii=False) if gold is not None else None,
            "active_seconds": round(active_seconds, 1), "metadata": metadata}


BUILDERS: dict[ExportFormat, Callable[[TaskType, dict, dict, dict], list[dict]]] = {
    ExportFormat.sft: sft_records,
    ExportFormat.preference: preference_records,
    ExportFormat.ranking: preference_records,
    ExportFormat.kto: kto_records,
    ExportFormat.factcheck: factcheck_records,
    ExportFormat.rubric: rubric_records,
    ExportFormat.label: label_records,
}
