"""Training records in TRL's conversational layouts, built from one judgment or from an item's
consensus. Which formats a task type exports, and how, is the type's rule
(``TaskTypeSpec.formats`` / ``records`` / ``consensus_records``); ``raw`` works for every type.
"""

from __future__ import annotations

from .errors import ValidationFailed
from .tasks import TASK_TYPES, ExportFormat, ItemConsensus, TaskType, task_type
from .tasks.base import Obj

__all__ = ["COMPATIBLE", "ExportFormat", "check_compatible", "check_consensus_format", "consensus_records",
           "export_records", "formats_for", "raw_record"]


def formats_for(t: str) -> list[ExportFormat]:
    """Export formats of a task type, in ``ExportFormat`` order, ``raw`` last."""
    spec = task_type(t)
    return [f for f in ExportFormat if f in spec.formats or f == ExportFormat.raw]


# Which project task types each export format can be built from (the built-in types).
COMPATIBLE: dict[ExportFormat, set[TaskType]] = {
    fmt: {TaskType(t) for t in TASK_TYPES if t in set(TaskType) and fmt in formats_for(t)} for fmt in ExportFormat}


def check_compatible(fmt: ExportFormat, t: str) -> None:
    allowed = formats_for(t)
    if fmt not in allowed:
        raise ValidationFailed(f"a {t} project cannot be exported as {fmt.value}; "
                               f"use one of: {', '.join(sorted(f.value for f in allowed))}", loc="format")


def check_consensus_format(fmt: ExportFormat, t: str) -> None:
    spec = task_type(t)
    if fmt not in spec.consensus_formats:
        hint = (f"use one of: {', '.join(f.value for f in spec.consensus_formats)}" if spec.consensus_formats
                else f"{t} projects have no categorical answers to build a consensus on")
        raise ValidationFailed(f"consensus export is not available for {t} projects in the {fmt.value} "
                               f"format; {hint}", loc="consensus")


def export_records(t: str, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
    """Records of one judgment in ``fmt`` (zero for a preference tie; k·(k−1)/2 pairs for a
    ranking of k)."""
    return task_type(t).records(fmt, payload, response, metadata)


def consensus_records(t: str, fmt: ExportFormat, payload: Obj, options: Obj, consensus: ItemConsensus,
                      metadata: Obj) -> list[Obj]:
    return task_type(t).consensus_records(fmt, payload, options, consensus, metadata)


def raw_record(t: str, payload: Obj, response: Obj, metadata: Obj, *, presentation: Obj | None,
               active_seconds: float, gold: Obj | None, original_response: Obj | None = None) -> Obj:
    """Everything about one judgment, as nested objects. ``response`` is what exports use (a
    reviewer's edit, when there was one); ``original_response`` is the trainer's own answer
    when a reviewer edited it (None otherwise)."""
    return {"task_type": str(t), "item": payload, "response": response, "original_response": original_response,
            "presentation": presentation, "gold": gold, "active_seconds": round(active_seconds, 1),
            "metadata": metadata}
