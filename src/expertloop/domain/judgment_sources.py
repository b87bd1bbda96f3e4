"""Existing judgments from other tools, read into one shape: which item (by its source id),
who judged it, and the answer in expertloop's response layout.

Three sources are understood (:func:`detect_source` tells them apart by their fields):

- ``label-studio``: a Label Studio JSON export, a list of tasks ``{"id", "data": {...},
  "annotations": [{"completed_by", "result": [{"from_name", "to_name", "type": "choices",
  "value": {"choices": [...]}}], "was_cancelled", "created_at", "lead_time"}]}``. A choices
  result becomes a ``label`` response. Cancelled annotations and ones without a choice are
  skipped (and counted).
- ``argilla``: Argilla v2 records (``dataset.records.to_list(flatten=False)``), ``{"id",
  "fields": {...}, "responses": {question: [{"value", "user_id", "status"?}]}}``. The answers to
  one label question become ``label`` responses; responses whose status is not ``submitted``
  are skipped.
- ``raw``: expertloop's own ``raw`` export, ``{"task_type", "item", "response", "gold",
  "active_seconds", "metadata": {"item_external_id", "item_id", "expert", "submitted_at"}}``:
  any task type, the response as it was.

Items keep their source id as ``external_id``. A source field whose name expertloop uses
itself (``id``, ``label``, ``external_id``, ``priority``, ``metadata``, ``gold``) is renamed
``source_<name>`` in the item, so it can neither steer the import nor be overwritten by an
export's own ``label``. Annotators are named by email when the source gives one, and otherwise
by a stable placeholder address built from the source and its user id
(``label-studio-user-7@imported.invalid``): importing the same file again finds the same expert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import Problem

SOURCES = ("label-studio", "argilla", "raw")
RESERVED_FIELDS = ("id", "label", "external_id", "priority", "metadata", "gold")
PLACEHOLDER_DOMAIN = "imported.invalid"
MAX_EMAIL = 320


@dataclass(frozen=True)
class SourceJudgment:
    """One judgment read from a source file, not yet checked against the project."""

    where: str                # "line 3" / "record 3", with the annotation when there are several
    item_external_id: str
    item: dict[str, Any]      # an item record for ``parse_item``: payload fields (and ``gold``)
    annotator: str            # an email, real or placeholder (lower case)
    annotator_name: str
    response: dict[str, Any]
    submitted_at: datetime | None
    active_seconds: float


@dataclass
class SourceRead:
    judgments: list[SourceJudgment]
    problems: list[Problem]
    skipped: int = 0


def detect_source(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    if "annotations" in record and "data" in record:
        return "label-studio"
    if "responses" in record and "fields" in record:
        return "argilla"
    if {"item", "response", "metadata"} <= set(record):
        return "raw"
    return None


def item_fields(data: Any) -> dict[str, Any]:
    """A source's item fields with expertloop's own names moved aside (``id`` -> ``source_id``)."""
    out: dict[str, Any] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        name = str(key)
        while name in RESERVED_FIELDS or (name != key and name in data):
            name = "source_" + name
        out[name] = value
    return out


def annotator_email(source: str, user: Any) -> tuple[str, str] | None:
    """(email, display name) for a source's user: its email, or a placeholder from its id."""
    if isinstance(user, dict):
        email = user.get("email")
        if isinstance(email, str) and "@" in email:
            return email.strip().lower(), str(user.get("first_name") or email.split("@")[0])
        user = user.get("id")
    if isinstance(user, bool) or user is None or (isinstance(user, str) and not user.strip()):
        return None
    if not isinstance(user, (str, int)):
        return None
    text = str(user).strip()
    if "@" in text:
        return text.lower(), text.split("@")[0]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)[:200]
    return f"{source}-user-{safe}@{PLACEHOLDER_DOMAIN}".lower(), f"{source} user {text[:100]}"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return 0.0
    return float(min(value, 10 * 24 * 3600))


def _source_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text or None


def read_record(source: str, record: Any, where: str, *, question: str | None = None) -> SourceRead:
    """The judgments in one source record, with the problems that keep some of them out."""
    if detect_source(record) != source:
        found = detect_source(record)
        return SourceRead([], [Problem(where, f"is not {'an' if source[0] in 'aeiou' else 'a'} {source} record"
                                              + (f" (it looks like {found})" if found else ""))])
    if source == "label-studio":
        return _label_studio(record, where)
    if source == "argilla":
        return _argilla(record, where, question)
    return _raw(record, where)


def _label_studio(task: dict[str, Any], where: str) -> SourceRead:
    out = SourceRead([], [])
    eid = _source_id(task.get("id"))
    if eid is None:
        out.problems.append(Problem(f"{where}: id", "a Label Studio task needs its id"))
        return out
    annotations = task.get("annotations")
    if not isinstance(annotations, list):
        out.problems.append(Problem(f"{where}: annotations", "must be a list"))
        return out
    item = item_fields(task.get("data"))
    for i, ann in enumerate(annotations):
        loc = f"{where}: annotations[{i}]"
        if not isinstance(ann, dict):
            out.problems.append(Problem(loc, "must be an object"))
            continue
        if ann.get("was_cancelled"):
            out.skipped += 1
            continue
        result = ann.get("result")
        if result is not None and not isinstance(result, list):
            out.problems.append(Problem(f"{loc}.result", "must be a list of results"))
            continue
        values: list[Any] = []
        for r in result or []:
            if isinstance(r, dict) and r.get("type") == "choices":
                value = r.get("value")
                chosen = value.get("choices") if isinstance(value, dict) else None
                if chosen is not None and not isinstance(chosen, list):
                    chosen = [chosen]
                values += chosen or []
        if not values:
            out.skipped += 1
            continue
        if len(values) > 1:
            out.problems.append(Problem(loc, f"holds {len(values)} choices ({', '.join(map(str, values))}); "
                                             "a label judgment has one"))
            continue
        who = annotator_email("label-studio", ann.get("completed_by"))
        if who is None:
            out.problems.append(Problem(f"{loc}.completed_by", "names no annotator"))
            continue
        out.judgments.append(SourceJudgment(
            where=loc, item_external_id=eid, item=item, annotator=who[0], annotator_name=who[1],
            response={"label": values[0]}, submitted_at=parse_time(ann.get("updated_at") or ann.get("created_at")),
            active_seconds=_seconds(ann.get("lead_time"))))
    return out


def _argilla(record: dict[str, Any], where: str, question: str | None) -> SourceRead:
    out = SourceRead([], [])
    eid = _source_id(record.get("id"))
    if eid is None:
        out.problems.append(Problem(f"{where}: id", "an Argilla record needs its id"))
        return out
    responses = record.get("responses")
    if not isinstance(responses, dict):
        out.problems.append(Problem(f"{where}: responses", "must be an object: question -> list of responses"))
        return out
    if question is None:
        if len(responses) > 1:
            out.problems.append(Problem(f"{where}: responses", f"answers {len(responses)} questions "
                                        f"({', '.join(sorted(map(str, responses)))}); name the one to import "
                                        "(--question)"))
            return out
        question = next(iter(responses), None)
    answers = responses.get(question) if question is not None else []
    if answers is None:
        answers = []
    if not isinstance(answers, list):
        out.problems.append(Problem(f"{where}: responses.{question}", "must be a list of {value, user_id}"))
        return out
    item = item_fields(record.get("fields"))
    for i, answer in enumerate(answers):
        loc = f"{where}: responses.{question}[{i}]"
        if not isinstance(answer, dict):
            out.problems.append(Problem(loc, "must be an object with value and user_id"))
            continue
        if answer.get("status", "submitted") != "submitted":
            out.skipped += 1
            continue
        value = answer.get("value")
        if isinstance(value, list):  # a multi-label question answered with one label
            if len(value) != 1:
                out.problems.append(Problem(f"{loc}.value", f"holds {len(value)} labels; a label judgment has one"))
                continue
            value = value[0]
        who = annotator_email("argilla", answer.get("user_id"))
        if who is None:
            out.problems.append(Problem(f"{loc}.user_id", "names no annotator"))
            continue
        out.judgments.append(SourceJudgment(
            where=loc, item_external_id=eid, item=item, annotator=who[0], annotator_name=who[1],
            response={"label": value}, submitted_at=parse_time(answer.get("updated_at") or record.get("updated_at")),
            active_seconds=0.0))
    return out


def _raw(record: dict[str, Any], where: str) -> SourceRead:
    out = SourceRead([], [])
    meta = record.get("metadata")
    if not isinstance(meta, dict):
        out.problems.append(Problem(f"{where}: metadata", "must be an object"))
        return out
    eid = _source_id(meta.get("item_external_id")) or (
        f"item-{meta['item_id']}" if _source_id(meta.get("item_id")) else None)
    if eid is None:
        out.problems.append(Problem(f"{where}: metadata.item_external_id", "names no item"))
        return out
    who = annotator_email("expertloop", meta.get("expert"))
    if who is None:
        out.problems.append(Problem(f"{where}: metadata.expert", "names no expert"))
        return out
    if not isinstance(record.get("response"), dict):
        out.problems.append(Problem(f"{where}: response", "must be an object"))
        return out
    if not isinstance(record.get("item"), dict):
        out.problems.append(Problem(f"{where}: item", "must be an object"))
        return out
    item = {k: v for k, v in record["item"].items() if k not in ("external_id", "priority", "metadata", "gold")}
    if record.get("gold") is not None:
        item["gold"] = record["gold"]
    out.judgments.append(SourceJudgment(
        where=where, item_external_id=eid, item=item, annotator=who[0], annotator_name=who[1],
        response=record["response"], submitted_at=parse_time(meta.get("submitted_at")),
        active_seconds=_seconds(record.get("active_seconds"))))
    return out
