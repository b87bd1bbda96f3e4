"""Exports: every counted judgment (or every item's consensus) as TRL-ready records, streamed.

Provenance in each record's ``metadata``: project, item external id, a pseudonymous expert id
(stable per expert and project, derived from a per-project secret salt: not the database id,
no name or email), submission time, the guideline version the expert worked under, the version
of the project's terms they consented to (None when the project has no terms), whether the item
is gold (``is_gold``), how many counted judgments the item has (``judgments``), and the review
(``review``: ``unreviewed`` / ``accepted`` / ``edited``, with the reviewer's pseudonym in
``reviewer``; an edited judgment exports the edit, and ``raw`` keeps the trainer's original).
Work done under a withdrawn consent, and rejected work, is in no export.

``consensus=True`` gives one record per item (``label``, ``factcheck``, ``preference``,
``ranking``), built from the project's consensus (:func:`.consensus.latest_consensus`) with
``judgments``, ``agreement`` and ``confidence``. ``min_judgments`` / ``min_confidence`` leave out
items resting on fewer judgments or a less confident consensus; the returned
:class:`ExportStream` counts what was left out and why (``summary()``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.records import ExportFormat, check_compatible, check_consensus_format, raw_record
from ..domain.tasks import ItemConsensus, PartConsensus, TaskType, TaskTypeSpec, task_type
from ..storage import repositories as repo
from ..storage.orm import Assignment, Project
from . import ai_help
from .consensus import Consensus, key_of, latest_consensus
from .projects import load_project
from .uow import reads, reads_stream
from .views import iso

# Why a judgment (or, in a consensus export, an item) was left out, as the summary names it
# (singular, plural).
REASONS = {
    "min_judgments": ("below --min-judgments", "below --min-judgments"),
    "min_confidence": ("below --min-confidence", "below --min-confidence"),
    "tie": ("tie", "ties"),
    "no_consensus": ("without a consensus", "without a consensus"),
}


def pseudonym(project: Project, expert_id: int) -> str:
    digest = hashlib.sha256(f"{project.pseudonym_salt}:{expert_id}".encode()).hexdigest()
    return "ex_" + digest[:16]


def parse_format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(f.value for f in ExportFormat)}; got {value!r}",
                               loc="format") from None


class ExportStream(Iterator[dict]):
    """The records of one export, and once consumed, how many were written and what was left
    out (``left_out``: reason -> count of judgments, or of items in a consensus export)."""

    def __init__(self, fmt: ExportFormat, consensus: bool):
        self.fmt = fmt
        self.consensus = consensus
        self.unit = "items" if consensus else "judgments"
        self.written = 0
        self.left_out: Counter[str] = Counter()
        self._records: Iterator[dict] = iter(())

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> dict:
        record = next(self._records)
        self.written += 1
        return record

    def leave_out(self, reason: str) -> None:
        self.left_out[reason] += 1

    def summary(self) -> dict:
        return {"records": self.written, "unit": self.unit, "left_out": dict(self.left_out)}

    def summary_line(self) -> str:
        """``left out 15 judgments: 9 below --min-judgments, 4 ties, 2 below --min-confidence``."""
        total = sum(self.left_out.values())
        if not total:
            return f"left out no {self.unit}"
        parts = ", ".join(f"{n} {REASONS.get(r, (r, r))[n != 1]}" for r, n in self.left_out.most_common())
        return f"left out {total} {self.unit if total != 1 else self.unit[:-1]}: {parts}"


@reads
def iter_records(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, *,
                 consensus: bool = False, min_judgments: int | None = None,
                 min_confidence: float | None = None) -> ExportStream:
    """Records of a project in ``fmt``. Checks run before the first record is produced."""
    require_staff(actor, "export data")
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    project = load_project(session, project_id)
    spec = task_type(project.task_type)
    check_compatible(fmt, spec.name)
    if consensus:
        check_consensus_format(fmt, spec.name)
    if min_judgments is not None and (isinstance(min_judgments, bool) or not isinstance(min_judgments, int)
                                      or min_judgments < 1):
        raise ValidationFailed(f"must be a whole number of at least 1, got {min_judgments!r}", loc="min_judgments")
    if min_confidence is not None:
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) \
                or not 0 <= min_confidence <= 1:
            raise ValidationFailed(f"must be a probability between 0 and 1, got {min_confidence!r}",
                                   loc="min_confidence")
        if not spec.has_consensus:
            raise ValidationFailed(f"{spec.name} projects have no consensus to be confident about",
                                   loc="min_confidence")
    stream = ExportStream(fmt, consensus)
    need_fit = spec.has_consensus and (consensus or fmt != ExportFormat.raw or min_confidence is not None)
    inferred = latest_consensus(session, project.id, TaskType(spec.name), fresh=True) if need_fit else None
    if consensus:
        stream._records = _generate_consensus(session, project, spec, fmt, inferred, stream,
                                              min_judgments, min_confidence)
    else:
        stream._records = _generate(session, project, spec, fmt, inferred, stream, min_judgments, min_confidence)
    return stream


def review_of(project: Project, a: Assignment) -> tuple[str, str | None]:
    """(review state, reviewer pseudonym) of a counted judgment."""
    if a.state != AssignmentState.accepted.value:
        return "unreviewed", None
    reviewer = pseudonym(project, a.reviewed_by) if a.reviewed_by is not None else None
    return ("edited" if a.original_response is not None else "accepted"), reviewer


def _metadata(project: Project, item, a, terms_version: int | None) -> dict:
    review, reviewer = review_of(project, a)
    return {
        "project_id": project.id, "project": project.name, "item_id": item.id,
        "item_external_id": item.external_id, "assignment_id": a.id,
        "expert": pseudonym(project, a.expert_id), "submitted_at": iso(a.submitted_at),
        "guidelines_version": a.guidelines_version, "terms_version": terms_version,
        "is_gold": item.gold is not None, "review": review, "reviewer": reviewer,
        "ai_assistance": ai_help.export_record(a.ai_assistance),
    }


def _counted_responses(session: Session, project_id: int, with_responses: bool) -> dict[int, list[dict]]:
    """Per item, its counted judgments' responses (or, without responses, one ``{}`` each)."""
    counted = (Assignment.project_id == project_id, repo.counted_judgment())
    out: dict[int, list[dict]] = {}
    if with_responses:
        q = select(Assignment.item_id, Assignment.response).where(*counted).order_by(Assignment.id)
        for item_id, response in session.execute(q):
            out.setdefault(item_id, []).append(response)
    else:
        q2 = select(Assignment.item_id, func.count()).where(*counted).group_by(Assignment.item_id)
        for item_id, n in session.execute(q2):
            out[item_id] = [{}] * n
    return out


def item_consensus(spec: TaskTypeSpec, item_id: int, responses: list[dict],
                   inferred: Consensus | None) -> ItemConsensus:
    """An item's consensus per categorical part, with the votes of its counted judgments
    (no parts without a fitted consensus)."""
    if inferred is None:
        return ItemConsensus(responses=responses, parts=[])
    votes: dict[int, Counter[str]] = {}
    for response in responses:
        for part, value in spec.categorical_answers(response):
            votes.setdefault(part, Counter())[value] += 1
    parts = []
    for part in sorted(votes):
        key = key_of(item_id, part)
        parts.append(PartConsensus(answer=inferred.label(key), confidence=inferred.posterior(key),
                                   votes=dict(votes[part]), part=part))
    return ItemConsensus(responses=responses, parts=parts)


def _filter(cons: ItemConsensus, min_judgments: int | None, min_confidence: float | None) -> str | None:
    if min_judgments is not None and cons.judgments < min_judgments:
        return "min_judgments"
    if min_confidence is not None and (cons.confidence is None or cons.confidence < min_confidence):
        return "min_confidence"
    return None


@reads_stream
def _generate(session: Session, project: Project, spec: TaskTypeSpec, fmt: ExportFormat,
              inferred: Consensus | None, stream: ExportStream, min_judgments: int | None,
              min_confidence: float | None) -> Iterator[dict]:
    by_item = _counted_responses(session, project.id, with_responses=inferred is not None)
    cache: dict[int, ItemConsensus] = {}

    def consensus_of(item_id: int) -> ItemConsensus:
        if item_id not in cache:
            cache[item_id] = item_consensus(spec, item_id, by_item.get(item_id, []), inferred)
        return cache[item_id]

    for a, item, terms_version in repo.iter_done_assignments(session, project.id):
        response = a.response
        assert response is not None  # every submitted judgment has one
        cons = consensus_of(item.id)
        reason = _filter(cons, min_judgments, min_confidence)
        if reason is None and fmt != ExportFormat.raw:
            reason = spec.left_out_reason(fmt, response)
        if reason is not None:
            stream.leave_out(reason)
            continue
        metadata = {**_metadata(project, item, a, terms_version), "judgments": cons.judgments}
        if fmt == ExportFormat.raw:
            yield raw_record(spec.name, item.payload, response, metadata, presentation=a.presentation,
                             active_seconds=a.active_seconds, gold=item.gold,
                             original_response=a.original_response)
            continue
        for record in spec.records(fmt, item.payload, response, metadata):
            if inferred is not None:
                spec.attach_consensus(record, project.options or {}, item.payload, cons)
            yield record


@reads_stream
def _generate_consensus(session: Session, project: Project, spec: TaskTypeSpec, fmt: ExportFormat,
                        inferred: Consensus | None, stream: ExportStream, min_judgments: int | None,
                        min_confidence: float | None) -> Iterator[dict]:
    """One item at a time: its consensus records, or the reason it has none."""
    by_item: dict[int, list] = {}
    items = {}
    terms: dict[int, set] = {}
    for a, item, terms_version in repo.iter_done_assignments(session, project.id):
        by_item.setdefault(item.id, []).append(a)
        items[item.id] = item
        terms.setdefault(item.id, set()).add(terms_version)
    for item_id, judgments in by_item.items():
        item = items[item_id]
        cons = item_consensus(spec, item_id, [a.response for a in judgments], inferred)
        reason = _filter(cons, min_judgments, min_confidence) or spec.consensus_left_out_reason(fmt, cons)
        if reason is not None:
            stream.leave_out(reason.replace(" ", "_"))
            continue
        versions = sorted(v for v in terms[item_id] if v is not None)
        reviews = [review_of(project, a) for a in judgments]
        metadata = {**_metadata(project, item, judgments[0], max(versions) if versions else None),
                    "terms_versions": versions, "assignment_id": None, "expert": None,
                    "submitted_at": iso(max(a.submitted_at for a in judgments)),
                    "experts": sorted({pseudonym(project, a.expert_id) for a in judgments}),
                    "review": None, "reviewer": None,
                    "reviews": dict(Counter(state for state, _ in reviews)),
                    "editors": sorted({r for state, r in reviews if state == "edited" and r is not None}),
                    "ai_assistance": ai_help.summary([a.ai_assistance for a in judgments])}
        yield from spec.consensus_records(fmt, item.payload, project.options or {}, cons, metadata)


def iter_jsonl(records: Iterator[dict]) -> Iterator[bytes]:
    for record in records:
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode()


# Parquet needs one type per column: raw's nested payloads (a preference ``choice`` is 0, 1 or
# "tie"; items of one project may differ in fields) are JSON text there. JSONL keeps objects.
_RAW_JSON_COLUMNS = ("item", "response", "original_response", "presentation", "gold")


def _parquet_row(fmt: ExportFormat | None) -> Callable[[dict], dict]:
    if fmt != ExportFormat.raw:
        return lambda row: row
    return lambda row: {k: (json.dumps(v, ensure_ascii=False) if k in _RAW_JSON_COLUMNS and v is not None else v)
                        for k, v in row.items()}


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

        to_row = _parquet_row(getattr(records, "fmt", None))
        rows = [to_row(r) for r in records]
        n = len(rows)
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.replace(path)  # a crash mid-export never leaves a truncated file under the real name
    return n
