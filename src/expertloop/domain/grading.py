"""Comparing a response with a known answer (gold), and reading categorical answers out of
responses, for quality control, exams and truth inference."""

from __future__ import annotations

from .projects import TaskType

GRADABLE = (TaskType.label, TaskType.preference, TaskType.ranking, TaskType.factcheck)


def gold_score(task_type: TaskType, response: dict, gold: dict) -> float | None:
    """Share of the answer that matches gold, in [0, 1]; None where no gold comparison exists
    (free text and rubric scores)."""
    if task_type == TaskType.label:
        return float(response["label"] == gold["label"])
    if task_type == TaskType.preference:
        return float(response["choice"] == gold["choice"])
    if task_type == TaskType.ranking:
        return float(response["order"][0] == gold["order"][0])
    if task_type == TaskType.factcheck:
        pairs = list(zip(response["claims"], gold["claims"], strict=False))
        return sum(r["verdict"] == g["verdict"] for r, g in pairs) / len(pairs) if pairs else None
    return None


def gold_tally(task_type: TaskType, answered: list[tuple[dict, dict]]) -> tuple[int, int]:
    """(gradable gold answers, fully correct ones) for (response, gold) pairs; partial credit on a
    fact-check counts as not correct."""
    scores = [s for r, g in answered if (s := gold_score(task_type, r, g)) is not None]
    return len(scores), sum(1 for s in scores if s >= 1.0)


def categorical_answers(task_type: TaskType, response: dict) -> list[tuple[int, str]]:
    """The categorical judgments in a response as (part, value): one part for label,
    preference and ranking (its top choice), one per claim for factcheck, none otherwise."""
    if task_type == TaskType.label:
        return [(0, str(response["label"]))]
    if task_type == TaskType.preference:
        return [(0, str(response["choice"]))]
    if task_type == TaskType.ranking:
        return [(0, str(response["order"][0]))]
    if task_type == TaskType.factcheck:
        return [(i, c["verdict"]) for i, c in enumerate(response["claims"])]
    return []
