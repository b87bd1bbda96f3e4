"""Task types: one module per type, registered in one table.

``TASK_TYPES`` maps each task type to its :class:`~.base.TaskTypeSpec`; ``task_type(t)`` looks
one up (by the enum member or its string value). The rest of the product asks the registry and
never branches on the type. How to add one: ``docs/architecture.md`` ("Adding a task type").
"""

from __future__ import annotations

from ..errors import ValidationFailed
from . import chat, factcheck, label, preference, ranking, rubric, rubric_authoring, sft, steps, trajectory
from .base import (
    ExportFormat,
    FormFields,
    GoldScore,
    ItemConsensus,
    PartConsensus,
    TaskType,
    TaskTypeSpec,
)

__all__ = ["TASK_TYPES", "ExportFormat", "FormFields", "GoldScore", "ItemConsensus", "PartConsensus",
           "TaskType", "TaskTypeSpec", "task_type"]

TASK_TYPES: dict[str, TaskTypeSpec] = {
    TaskType.sft: sft.SPEC,
    TaskType.preference: preference.SPEC,
    TaskType.ranking: ranking.SPEC,
    TaskType.factcheck: factcheck.SPEC,
    TaskType.rubric: rubric.SPEC,
    TaskType.label: label.SPEC,
    TaskType.steps: steps.SPEC,
    TaskType.trajectory: trajectory.SPEC,
    TaskType.rubric_authoring: rubric_authoring.SPEC,
    TaskType.chat: chat.SPEC,
}


def task_type(t: str) -> TaskTypeSpec:
    """The spec of a task type (a ``TaskType`` or its value); ValidationFailed if unknown."""
    try:
        return TASK_TYPES[str(t)]
    except KeyError:
        raise ValidationFailed(f"must be one of {', '.join(TASK_TYPES)}; got {t!r}", loc="task_type") from None
