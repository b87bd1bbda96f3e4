"""Fact vs fiction per model: of the claims in the responses each model wrote, the share the
experts' consensus judged supported (FActScore: supported / all judged claims, Min et al.
2023, "FActScore: Fine-grained Atomic Evaluation of Factual Precision in Long Form Text
Generation", EMNLP), refuted, and not enough info — each with a Wilson interval.

The model of an item is its payload's ``model`` (never shown to trainers) or its metadata's
``model``; items without one are grouped as ``(unknown)``. A claim counts once it has a
consensus verdict. Claims are the final claims after trainers' corrections of the split: a
proposed claim every trainer deleted is not counted, a claim trainers added is (claims are
matched across trainers as :mod:`expertloop.domain.tasks.claim_edits` describes).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..quality import wilson_interval
from ..storage.orm import Item, Project
from .consensus import latest_consensus
from .projects import load_project
from .uow import reads

VERDICTS = ("supported", "refuted", "not_enough_info")
UNKNOWN = "(unknown)"


def _share(k: int, n: int) -> dict:
    if n == 0:
        return {"count": 0, "share": None, "interval": None}
    lo, hi = wilson_interval(k, n)
    return {"count": k, "share": round(k / n, 4), "interval": [round(float(lo), 4), round(float(hi), 4)]}


@reads
def factscore(session: Session, actor: Actor | None, project_id: int) -> dict:
    """Per model: claims judged, the shares supported (the FActScore), refuted and not enough
    info with intervals, and the mean per-response supported share."""
    if actor is not None:
        require_staff(actor, "read fact-check scores")
    project = load_project(session, project_id)
    if project.task_type != TaskType.factcheck.value:
        return {"project_id": project_id, "models": []}
    return {"project_id": project_id, "models": _by_model(session, project)}


def _by_model(session: Session, project: Project) -> list[dict]:
    consensus = latest_consensus(session, project.id, TaskType.factcheck)
    if consensus is None:
        return []
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(VERDICTS, 0))
    per_response: dict[str, list[float]] = defaultdict(list)
    parts_of: dict[int, list[str]] = defaultdict(list)
    for key in consensus.index:
        parts_of[int(key.split(":", 1)[0])].append(key)
    responses: dict[str, int] = defaultdict(int)
    for item_id, payload, meta in session.execute(select(Item.id, Item.payload, Item.meta)
                                                  .where(Item.project_id == project.id,
                                                         Item.generation.is_(None))):
        model = payload.get("model") or (meta or {}).get("model") or UNKNOWN
        labels = [consensus.label(key) for key in parts_of.get(item_id, ())]
        judged = [v for v in labels if v is not None and v in VERDICTS]
        if not judged:
            continue
        responses[model] += 1
        for v in judged:
            counts[model][v] += 1
        per_response[model].append(judged.count("supported") / len(judged))
    out = []
    for model in sorted(counts):
        n = sum(counts[model].values())
        out.append({"model": model, "responses": responses[model], "claims_judged": n,
                    "factscore": _share(counts[model]["supported"], n),
                    "refuted": _share(counts[model]["refuted"], n),
                    "not_enough_info": _share(counts[model]["not_enough_info"], n),
                    "mean_supported_per_response": round(sum(per_response[model]) / len(per_response[model]), 4)})
    return out


@reads
def factscore_section(session: Session, project_id: int) -> list[dict] | None:
    """The quality report's ``factscore`` (fact-check projects only; None otherwise)."""
    project = session.get(Project, project_id)
    if project is None or project.task_type != TaskType.factcheck.value:
        return None
    return _by_model(session, project)
