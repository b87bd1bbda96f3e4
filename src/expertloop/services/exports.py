"""Exports: every collected judgment as TRL-ready records with provenance, streamed.

Provenance in each record's ``metadata``: project, item external id, a pseudonymous expert id
(stable per expert and project, derived from a per-project secret salt: not the database id,
no name or email), submission time, the guideline version the expert worked under and the
version of the project's terms they consented to (None when the project has no terms). Work
done under a withdrawn consent is in no export.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..domain.records import BUILDERS, ExportFormat, check_compatible, preference_records, raw_record
from ..storage import repositories as repo
from ..storage.orm import Project
from .consensus import Consensus, key_of, latest_consensus
from .projects import load_project
from .uow import reads, reads_stream
from .views import iso


def pseudonym(project: Project, expert_id: int) -> str:
    digest = hashlib.sha256(f"{project.pseudonym_salt}:{expert_id}".encode()).hexdigest()
    return "ex_" + digest[:16]


def parse_format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(f.value for f in ExportFormat)}; got {value!r}",
                               loc="format") from None


@reads
def iter_records(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, *,
                 consensus: bool = False) -> Iterator[dict]:
    """Records of a project in ``fmt``. Checks run before the first record is produced.

    ``consensus=True`` (preference only) gives one record per item, chosen by Dawid–Skene
    consensus over its judgments. Label and fact-check records always carry the inferred
    answer and its posterior.
    """
    require_staff(actor, "export data")
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    project = load_project(session, project_id)
    task_type = TaskType(project.task_type)
    check_compatible(fmt, task_type)
    if consensus and not (fmt == ExportFormat.preference and task_type == TaskType.preference):
        raise ValidationFailed("consensus export is for preference projects in the preference format", loc="consensus")
    if consensus:
        return _generate_consensus(session, project)
    inferred = None
    if task_type in (TaskType.label, TaskType.factcheck) and fmt != ExportFormat.raw:
        inferred = latest_consensus(session, project.id, task_type, fresh=True)
    return _generate(session, project, task_type, fmt, inferred)


def _metadata(project: Project, item, a, terms_version: int | None) -> dict:
    return {
        "project_id": project.id, "project": project.name, "item_id": item.id,
        "item_external_id": item.external_id, "assignment_id": a.id,
        "expert": pseudonym(project, a.expert_id), "submitted_at": iso(a.submitted_at),
        "guidelines_version": a.guidelines_version, "terms_version": terms_version,
    }


@reads_stream
def _generate(session: Session, project: Project, task_type: TaskType, fmt: ExportFormat,
              inferred: Consensus | None) -> Iterator[dict]:
    for a, item, terms_version in repo.iter_done_assignments(session, project.id):
        metadata = _metadata(project, item, a, terms_version)
        if fmt == ExportFormat.raw:
            yield raw_record(task_type, item.payload, a.response, metadata, presentation=a.presentation,
                             active_seconds=a.active_seconds, gold=item.gold)
            continue
        for record in BUILDERS[fmt](task_type, item.payload, a.response, metadata):
            if inferred is not None:
                _attach_inferred(record, task_type, item.id, inferred)
            yield record


def _attach_inferred(record: dict, task_type: TaskType, item_id: int, inferred: Consensus) -> None:
    if task_type == TaskType.label:
        record["consensus_label"] = inferred.label(key_of(item_id, 0))
        record["consensus_posterior"] = _round(inferred.posterior(key_of(item_id, 0)))
    else:
        for part, claim in enumerate(record["claims"]):
            claim["consensus_verdict"] = inferred.label(key_of(item_id, part))
            claim["consensus_posterior"] = _round(inferred.posterior(key_of(item_id, part)))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@reads_stream
def _generate_consensus(session: Session, project: Project) -> Iterator[dict]:
    """One preference pair per item, by consensus; items whose consensus is a tie are left out."""
    inferred = latest_consensus(session, project.id, TaskType.preference, fresh=True)
    by_item: dict[int, list] = {}
    items = {}
    terms: dict[int, set] = {}
    for a, item, terms_version in repo.iter_done_assignments(session, project.id):
        by_item.setdefault(item.id, []).append(a)
        items[item.id] = item
        terms.setdefault(item.id, set()).add(terms_version)
    for item_id, judgments in by_item.items():
        item = items[item_id]
        key = key_of(item_id, 0)
        winner = inferred.label(key)
        if winner is None or winner == "tie":
            continue
        agreeing = [a for a in judgments if str(a.response["choice"]) == winner]
        strengths = [a.response["strength"] for a in agreeing if a.response.get("strength") is not None]
        versions = sorted(v for v in terms[item_id] if v is not None)
        metadata = {**_metadata(project, item, judgments[0], max(versions) if versions else None),
                    "terms_versions": versions,
                    "assignment_id": None, "expert": None, "submitted_at": iso(max(a.submitted_at for a in judgments)),
                    "experts": sorted({pseudonym(project, a.expert_id) for a in judgments}),
                    "judgments": len(judgments), "consensus_strength": _round(inferred.posterior(key)),
                    "agreement": round(len(agreeing) / len(judgments), 4),
                    "mean_strength": round(sum(strengths) / len(strengths), 3) if strengths else None}
        record = preference_records(TaskType.preference, item.payload, {"choice": int(winner)}, metadata)[0]
        record["metadata"].pop("strength", None)
        yield record


def iter_jsonl(records: Iterator[dict]) -> Iterator[bytes]:
    for record in records:
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode()


def write_file(records: Iterator[dict], path: Path) -> int:
    """Write records to ``.jsonl`` (streamed) or ``.parquet``; returns the record count."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".parquet"):
        raise ValidationFailed(f"output must end in .jsonl or .parquet, got {path.name!r}", loc="output")
    tmp = path.with_name(path.name + ".partial")
    n = 0
    if suffix == ".jsonl":
        with tmp.open("wb") as fh:
            for chunk in iter_jsonl(records):
                fh.write(chunk)
                n += 1
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = list(records)
        n = len(rows)
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.replace(path)  # a crash mid-export never leaves a truncated file under the real name
    return n
