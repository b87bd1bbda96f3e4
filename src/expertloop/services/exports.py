"""Exports: every counted judgment (or every item's consensus) as TRL-ready records, streamed.

Provenance in each record's ``metadata``: project, item external id, a pseudonymous expert id
(stable per expert and project, derived from a per-project secret salt: not the database id,
no name or email), submission time, the guideline version the expert worked under, the version
of the project's terms they consented to (None when the project has no terms), whether the item
is gold (``is_gold``), how many counted judgments the item has (``judgments``), and the review
(``review``: ``unreviewed`` / ``accepted`` / ``edited``, with the reviewer's pseudonym in
``reviewer``; an edited judgment exports the edit, and ``raw`` keeps the trainer's original),
and ``authenticity`` (the writing-process signals, the closest similarity to a model output,
the reasons of any flag and its ``outcome``; see :mod:`.authenticity`).
Work done under a withdrawn consent, and rejected work, is in no export.

``consensus=True`` gives one record per item (``label``, ``factcheck``, ``preference``,
``ranking``), built from the project's consensus (:func:`.consensus.latest_consensus`) with
``judgments``, ``agreement`` and ``confidence``. ``min_judgments`` / ``min_confidence`` leave out
items resting on fewer judgments or a less confident consensus; the returned
:class:`ExportStream` counts what was left out and why (``summary()``).

Every record says where its answer came from: ``metadata.decided_by`` is ``"experts"`` (counted
expert judgments), or ``"judge"`` for an item a ``judge_first`` judge settled alone (consistent
under swap and sure, so no expert saw it). Those items carry ``metadata.judge`` (the endpoint,
the model, its confidence), ``judgments: 0`` and no expert, and come after the experts' items.
They are left out unless asked for (``judge_settled=True``; ``--judge-settled``): an export is
expert data by default, and the summary counts what was left out as ``judge_settled``.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.authenticity import export_view as authenticity_view
from ..domain.errors import ValidationFailed
from ..domain.judging import item_verdict, response_from_verdict
from ..domain.modelwork import ai_assistance_record, ai_assistance_summary
from ..domain.policies import Actor, require_staff
from ..domain.records import ExportFormat, check_compatible, check_consensus_format, raw_record
from ..domain.tasks import ItemConsensus, PartConsensus, TaskType, TaskTypeSpec, task_type
from ..storage import repositories as repo
from ..storage.orm import Item, ModelJudgment, Project
from .imports import JUDGED
from .parquet import ParquetFileWriter
from .projects import load_project
from .uow import reads, reads_stream
from .views import iso

if TYPE_CHECKING:  # the consensus (and numpy) is loaded only by exports that use it
    from .consensus import Consensus

# Why a judgment (or, in a consensus export, an item) was left out, as the summary names it
# (singular, plural).
REASONS = {
    "min_judgments": ("below --min-judgments", "below --min-judgments"),
    "min_confidence": ("below --min-confidence", "below --min-confidence"),
    "tie": ("tie", "ties"),
    "no_consensus": ("without a consensus", "without a consensus"),
    "judge_settled": ("settled by the judge (--judge-settled includes it)",
                      "settled by the judge (--judge-settled includes them)"),
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
def check_export(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, *,
                 consensus: bool = False, min_judgments: int | None = None,
                 min_confidence: float | None = None) -> tuple[Project, TaskTypeSpec, ExportFormat]:
    """Every check an export makes before its first record: access, format, options."""
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
    return project, spec, fmt


@reads
def iter_records(session: Session, actor: Actor, project_id: int, fmt: ExportFormat | str, *,
                 consensus: bool = False, min_judgments: int | None = None,
                 min_confidence: float | None = None, judge_settled: bool = False) -> ExportStream:
    """Records of a project in ``fmt``, item by item (in import order; an item's judgments
    oldest first), then the items a judge settled (``judge_settled``; otherwise only counted).
    Checks run before the first record is produced."""
    project, spec, fmt = check_export(session, actor, project_id, fmt, consensus=consensus,
                                      min_judgments=min_judgments, min_confidence=min_confidence)
    stream = ExportStream(fmt, consensus)
    # The fit is read (and refitted when stale: costly on a big project) only when something
    # uses it: consensus records, the confidence filter, or a type that puts the consensus on
    # each judgment's record (label, fact-check, stepwise, trajectory; not preference or ranking).
    need_fit = spec.has_consensus and (consensus or min_confidence is not None
                                       or (fmt != ExportFormat.raw and attaches_consensus(spec)))
    inferred = None
    if need_fit:
        from .consensus import latest_consensus

        inferred = latest_consensus(session, project.id, TaskType(spec.name), fresh=True)
    if consensus:
        experts = _generate_consensus(session, project, spec, fmt, inferred, stream, min_judgments, min_confidence)
    else:
        experts = _generate(session, project, spec, fmt, inferred, stream, min_judgments, min_confidence)
    judged = _generate_judge_settled(session, project, spec, fmt, stream, consensus=consensus,
                                     include=judge_settled, min_judgments=min_judgments,
                                     min_confidence=min_confidence)
    stream._records = itertools.chain(experts, judged)
    return stream


def review_of(project: Project, a) -> tuple[str, str | None]:
    """(review state, reviewer pseudonym) of a counted judgment (an assignment or a row of
    :func:`~expertloop.storage.repositories.iter_judgments_by_item`)."""
    if a.state != AssignmentState.accepted.value:
        return "unreviewed", None
    reviewer = pseudonym(project, a.reviewed_by) if a.reviewed_by is not None else None
    return ("edited" if a.original_response is not None else "accepted"), reviewer


class _Pseudonyms:
    """Pseudonyms of a project's experts, each hashed once per export."""

    def __init__(self, project: Project):
        self.project = project
        self.project_id, self.project_name = project.id, project.name  # read once, not per record
        self.cache: dict[int, str] = {}

    def __call__(self, expert_id: int) -> str:
        name = self.cache.get(expert_id)
        if name is None:
            name = self.cache[expert_id] = pseudonym(self.project, expert_id)
        return name

    def review(self, row) -> tuple[str, str | None]:
        if row.state != AssignmentState.accepted.value:
            return "unreviewed", None
        reviewer = self(row.reviewed_by) if row.reviewed_by is not None else None
        return ("edited" if row.original_response is not None else "accepted"), reviewer


def _metadata(project: Project, names: _Pseudonyms, row, terms_version: int | None) -> dict:
    review, reviewer = names.review(row)
    return {
        "project_id": names.project_id, "project": names.project_name, "item_id": row.item_id,
        "item_external_id": row.external_id, "assignment_id": row.id,
        "expert": names(row.expert_id), "submitted_at": iso(row.submitted_at),
        "guidelines_version": row.guidelines_version, "terms_version": terms_version,
        "is_gold": row.gold is not None, "review": review, "reviewer": reviewer,
        "experiment_id": row.experiment_id, "arm": row.experiment_arm,
        "ai_assistance": ai_assistance_record(row.ai_assistance),
        "decided_by": "experts", "judge": None,
    }


def _authenticity(row) -> dict:
    return authenticity_view(row.check_status, row.check_signals, row.check_similarity, row.check_reasons)


def attaches_consensus(spec: TaskTypeSpec) -> bool:
    """Whether the type adds the item's consensus to each judgment's record."""
    return type(spec).attach_consensus is not TaskTypeSpec.attach_consensus


def item_consensus(spec: TaskTypeSpec, item_id: int, responses: list[dict],
                   inferred: Consensus | None) -> ItemConsensus:
    """An item's consensus per categorical part, with the votes of its counted judgments
    (no parts without a fitted consensus)."""
    if inferred is None:
        return ItemConsensus(responses=responses, parts=[])
    from .consensus import key_of

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


def _by_item(session: Session, project_id: int) -> Iterator[list]:
    """The counted judgments of a project, one item's at a time: memory holds one item."""
    group: list = []
    for row in repo.iter_judgments_by_item(session, project_id):
        if group and group[0].item_id != row.item_id:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


@reads_stream
def _generate(session: Session, project: Project, spec: TaskTypeSpec, fmt: ExportFormat,
              inferred: Consensus | None, stream: ExportStream, min_judgments: int | None,
              min_confidence: float | None) -> Iterator[dict]:
    names = _Pseudonyms(project)
    options = project.options or {}
    raw = fmt == ExportFormat.raw
    attach = inferred is not None and attaches_consensus(spec)
    # An item's consensus is built only when a filter or the records use it.
    with_consensus = inferred is not None or min_judgments is not None or min_confidence is not None
    records, left_out_reason = spec.records, spec.left_out_reason
    # Per-project constants and bound methods looked up once, not per record: a big export
    # spends microseconds per record, and each layer of calls and lookups shows.
    project_id, project_name = names.project_id, names.project_name
    accepted = AssignmentState.accepted.value
    pseudonyms, review_name = names.cache, names
    for judgments in _by_item(session, project.id):
        first = judgments[0]
        cons = item_reason = None
        if with_consensus:
            cons = item_consensus(spec, first.item_id, [row.response for row in judgments], inferred)
            item_reason = _filter(cons, min_judgments, min_confidence)
        count = len(judgments)
        for row in judgments:
            response = row.response
            reason = item_reason
            if reason is None and not raw:
                reason = left_out_reason(fmt, response)
            if reason is not None:
                stream.leave_out(reason)
                continue
            # _metadata, inlined (same keys, same order)
            if row.state != accepted:
                review, reviewer = "unreviewed", None
            else:
                reviewer = review_name(row.reviewed_by) if row.reviewed_by is not None else None
                review = "edited" if row.original_response is not None else "accepted"
            expert = pseudonyms.get(row.expert_id) or review_name(row.expert_id)
            metadata = {
                "project_id": project_id, "project": project_name, "item_id": row.item_id,
                "item_external_id": row.external_id, "assignment_id": row.id,
                "expert": expert, "submitted_at": iso(row.submitted_at),
                "guidelines_version": row.guidelines_version, "terms_version": row.terms_version,
                "is_gold": row.gold is not None, "review": review, "reviewer": reviewer,
                "experiment_id": row.experiment_id, "arm": row.experiment_arm,
                "ai_assistance": ai_assistance_record(row.ai_assistance) if row.ai_assistance else None,
                "decided_by": "experts", "judge": None,
                "judgments": count, "authenticity": authenticity_view(row.check_status, row.check_signals,
                                                                      row.check_similarity, row.check_reasons),
            }
            if raw:
                yield raw_record(spec.name, row.payload, response, metadata, presentation=row.presentation,
                                 active_seconds=row.active_seconds, gold=row.gold,
                                 original_response=row.original_response)
                continue
            if attach:
                assert cons is not None
                for record in records(fmt, row.payload, response, metadata):
                    spec.attach_consensus(record, options, row.payload, cons)
                    yield record
            else:
                yield from records(fmt, row.payload, response, metadata)


@reads_stream
def _generate_consensus(session: Session, project: Project, spec: TaskTypeSpec, fmt: ExportFormat,
                        inferred: Consensus | None, stream: ExportStream, min_judgments: int | None,
                        min_confidence: float | None) -> Iterator[dict]:
    """One item at a time: its consensus records, or the reason it has none."""
    names = _Pseudonyms(project)
    for judgments in _by_item(session, project.id):
        first = judgments[0]
        cons = item_consensus(spec, first.item_id, [row.response for row in judgments], inferred)
        reason = _filter(cons, min_judgments, min_confidence) or spec.consensus_left_out_reason(fmt, cons)
        if reason is not None:
            stream.leave_out(reason.replace(" ", "_"))
            continue
        versions = sorted({row.terms_version for row in judgments if row.terms_version is not None})
        reviews = [names.review(row) for row in judgments]
        metadata = {**_metadata(project, names, first, max(versions) if versions else None),
                    "terms_versions": versions, "assignment_id": None, "expert": None,
                    "submitted_at": iso(max(row.submitted_at for row in judgments)),
                    "experts": sorted({names(row.expert_id) for row in judgments}),
                    "review": None, "reviewer": None,
                    "reviews": dict(Counter(state for state, _ in reviews)),
                    "editors": sorted({r for state, r in reviews if state == "edited" and r is not None}),
                    # one arm when every judgment shares it (per-item experiments), else none
                    "arm": _one({row.experiment_arm for row in judgments}),
                    "arms": sorted({row.experiment_arm for row in judgments if row.experiment_arm is not None}),
                    "authenticity": _item_authenticity([_authenticity(row) for row in judgments]),
                    "ai_assistance": ai_assistance_summary([row.ai_assistance for row in judgments])}
        yield from spec.consensus_records(fmt, first.payload, project.options or {}, cons, metadata)


@reads_stream
def _generate_judge_settled(session: Session, project: Project, spec: TaskTypeSpec, fmt: ExportFormat,
                            stream: ExportStream, *, consensus: bool, include: bool, min_judgments: int | None,
                            min_confidence: float | None) -> Iterator[dict]:
    """The items a ``judge_first`` judge settled alone, each as one record of the judge's answer
    (``decided_by: "judge"``), or counted as left out when not asked for."""
    model = ((project.models or {}).get("judge_first") or {}).get("model")
    if not model:
        return
    settled = (select(Item.id).where(Item.project_id == project.id, Item.generation == JUDGED,
                                     Item.retired_at.is_(None)))
    if not include:
        for _ in session.execute(settled).scalars():
            stream.leave_out("judge_settled")
        return
    rows = session.execute(select(Item.id, Item.external_id, Item.payload, Item.gold, ModelJudgment.order,
                                  ModelJudgment.answer, ModelJudgment.confidence, ModelJudgment.generation,
                                  ModelJudgment.created_at)
                           .join(ModelJudgment, ModelJudgment.item_id == Item.id)
                           .where(Item.id.in_(settled), ModelJudgment.model == model)
                           .order_by(Item.id, ModelJudgment.order))
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        judged = list(group)
        first = judged[0]
        answer, confidence, _consistent = item_verdict({r.order: (r.answer, r.confidence) for r in judged})
        response = response_from_verdict(spec.name, answer)
        if response is None:
            continue
        if min_judgments is not None:  # a judge's answer rests on no expert judgment
            stream.leave_out("min_judgments")
            continue
        if min_confidence is not None and (confidence is None or confidence < min_confidence):
            stream.leave_out("min_confidence")
            continue
        if fmt != ExportFormat.raw and not consensus and spec.left_out_reason(fmt, response):
            stream.leave_out(spec.left_out_reason(fmt, response) or "")
            continue
        metadata = {"project_id": project.id, "project": project.name, "item_id": first.id,
                    "item_external_id": first.external_id, "assignment_id": None, "expert": None,
                    "submitted_at": iso(max(r.created_at for r in judged)), "guidelines_version": None,
                    "terms_version": None, "is_gold": first.gold is not None, "review": None, "reviewer": None,
                    "experiment_id": None, "arm": None, "ai_assistance": None, "decided_by": "judge",
                    "judge": {"endpoint": model, "model": (first.generation or {}).get("model"),
                              "confidence": None if confidence is None else round(confidence, 4),
                              "orders": len(judged)},
                    "judgments": 0, "authenticity": None}
        if fmt == ExportFormat.raw:
            yield raw_record(spec.name, first.payload, response, metadata, presentation=None, active_seconds=0.0,
                             gold=first.gold)
            continue
        if consensus:
            part = PartConsensus(answer=answer, confidence=confidence, votes={str(answer): 1}, part=0)
            for record in spec.consensus_records(fmt, first.payload, project.options or {},
                                                 ItemConsensus(responses=[response], parts=[part]), metadata):
                record["metadata"].update(judgments=0, agreement=None)
                yield record
            continue
        yield from spec.records(fmt, first.payload, response, metadata)


def _one(values: set) -> Any:
    return next(iter(values)) if len(values) == 1 else None


def _item_authenticity(views: list[dict]) -> dict:
    """A consensus record's authenticity: how many of its judgments are human-authenticated,
    and the outcomes of their checks."""
    return {"judgments": len(views), "human_authenticated": sum(v["human_authenticated"] for v in views),
            "outcomes": dict(Counter(v["outcome"] for v in views))}


# -- writing ------------------------------------------------------------------------------------
Progress = Callable[[int], None]
CHUNK_BYTES = 1 << 20      # a streamed JSONL body is sent in pieces of about this size
FILE_TYPES = ("jsonl", "parquet")



def json_line(record: Any) -> bytes:
    """One record as compact JSON (UTF-8, no ASCII escaping, no spaces after ``,`` and ``:``).

    ``orjson`` encodes a record several times faster than the standard library (encoding is
    the largest cost of a big export), which it can only do compactly. What orjson refuses (an
    integer beyond 64 bits, a non-string key, an unpaired surrogate) goes through ``json`` with
    the same separators, so every line has one layout. A NaN or infinite number, which JSON
    cannot express, is written as ``null``."""
    try:
        return _orjson_dumps(record)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _compact(record).encode("utf-8", "surrogatepass")


_orjson_dumps = orjson.dumps
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def iter_jsonl(records: Iterator[dict], *, chunk_bytes: int = CHUNK_BYTES, progress: Progress | None = None,
               every: int = 20_000) -> Iterator[bytes]:
    """JSON Lines (:func:`json_line`) in chunks of many records (about ``chunk_bytes`` each): a
    streamed response hands the event loop a few hundred pieces for a million records, not a
    million, and a file is written in as few calls. ``progress(n)`` is called every ``every``
    records."""
    dumps, line_of = _orjson_dumps, json_line
    parts: list[bytes] = []
    append = parts.append
    size = 0
    for n, record in enumerate(records, 1):
        try:
            line = dumps(record)
        except TypeError:
            line = line_of(record)
        append(line)
        size += len(line)
        if progress is not None and n % every == 0:
            progress(n)
        if size >= chunk_bytes:
            append(b"")
            yield b"\n".join(parts)
            parts.clear()
            size = 0
    if parts:
        append(b"")
        yield b"\n".join(parts)


# Parquet needs one type per column: raw's nested payloads (a preference ``choice`` is 0, 1 or
# "tie"; items of one project may differ in fields) are JSON text there. JSONL keeps objects.
_RAW_JSON_COLUMNS = ("item", "response", "original_response", "presentation", "gold")


def _parquet_row(fmt: ExportFormat | None) -> Callable[[dict], dict]:
    if fmt != ExportFormat.raw:
        return lambda row: row
    return lambda row: {k: (json.dumps(v, ensure_ascii=False) if k in _RAW_JSON_COLUMNS and v is not None else v)
                        for k, v in row.items()}


def iter_parquet(records: Iterator[dict], *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A Parquet file's bytes for a streamed response. Parquet puts its schema in a footer
    written last (and a later row group may widen it), so the file is written to a private
    temporary file first (flat memory, row group by row group), then sent and removed."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="expertloop-export-"))
    path = folder / "export.parquet"
    try:
        write_file(records, path)
        with path.open("rb") as fh:
            while chunk := fh.read(chunk_bytes):
                yield chunk
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # never hides the error that ended the export


_collections_lock = threading.Lock()
_collections_paused = 0           # file exports running with full collections postponed
_collections_threshold = (0, 0, 0)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Postpones the cyclic garbage collector's full collections while a file is written.

    A Parquet row group holds some hundred thousand containers at once; as they come and go,
    the collector keeps running full collections, each a walk of the entire heap (over a third
    of a Parquet export's CPU time). Young collections still run as usual, so short-lived
    cycles (of this export or of anything else the process is doing) are still reclaimed, and
    reference counting frees everything else at once; the thresholds are restored when the
    last concurrent file export ends."""
    global _collections_paused, _collections_threshold
    with _collections_lock:
        if _collections_paused == 0:
            _collections_threshold = gc.get_threshold()
            young, middle = _collections_threshold[:2]
            gc.set_threshold(young, middle, 1 << 30)
        _collections_paused += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_paused -= 1
            if _collections_paused == 0:
                gc.set_threshold(*_collections_threshold)


class _Counted(Iterator[dict]):
    def __init__(self, records: Iterator[dict]):
        self.records, self.n = iter(records), 0

    def __next__(self) -> dict:
        record = next(self.records)
        self.n += 1
        return record


def write_file(records: Iterator[dict], path: Path, *, progress: Progress | None = None,
               every: int = 20_000) -> int:
    """Write records to ``.jsonl`` or ``.parquet``, streamed; returns the record count.

    Written under ``NAME.partial`` and renamed at the end: a crash mid-export never leaves a
    truncated file under the real name. ``progress(n)`` is called every ``every`` records."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".parquet"):
        raise ValidationFailed(f"output must end in .jsonl or .parquet, got {path.name!r}", loc="output")
    tmp = path.with_name(path.name + ".partial")
    n = 0
    try:
        with _fewer_collections():
            if suffix == ".jsonl":
                counted = _Counted(records)
                with tmp.open("wb") as fh:
                    for chunk in iter_jsonl(counted, progress=progress, every=every):
                        fh.write(chunk)
                n = counted.n
            else:
                to_row = _parquet_row(getattr(records, "fmt", None))
                writer = ParquetFileWriter(tmp)
                try:
                    for record in records:
                        writer.add(to_row(record))
                        n += 1
                        if progress and n % every == 0:
                            progress(n)
                except BaseException:
                    writer.abort()
                    raise
                writer.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return n
