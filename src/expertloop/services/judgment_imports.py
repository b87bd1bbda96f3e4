"""Importing existing judgments (Label Studio, Argilla v2, expertloop's raw export) into a
project: items, annotators and their answers, all or nothing, idempotent.

Each source record is read into :class:`~expertloop.domain.judgment_sources.SourceJudgment`\\ s,
then, batch by batch inside one write unit:

- its item is found by ``external_id`` (the source's id) or created (checked like any imported
  item);
- its annotator is found by email, or created as an ``applicant`` expert with no rate (imported
  work is not paid, and nobody is given work before a manager sets a rate and activates them);
- its answer is checked against the project like a trainer's submit and stored as a
  ``submitted`` judgment (no lease, no ledger entry), counted toward the item's overlap.

A judgment the project already holds (same item, same expert) is skipped, so importing the same
file again changes nothing. Every problem in the file is collected (up to
:data:`MAX_PROBLEMS`) and reported at once, each with its line (JSONL) or record (a JSON list);
if there is any, nothing is stored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..domain.checks import Checker
from ..domain.errors import Problem, ValidationFailed
from ..domain.items import parse_item
from ..domain.judgment_sources import SOURCES, SourceJudgment, detect_source, read_record
from ..domain.policies import Actor, require_staff
from ..domain.tasks import task_type
from ..storage import repositories as repo
from ..storage.orm import Assignment, Expert, Item
from . import audit
from .clock import utcnow
from .imports import in_batches, refresh_statistics
from .projects import load_project
from .uow import write

MAX_PROBLEMS = 50
BATCH = 1000
APPLICANT = "applicant"
HELD = ("submitted", "accepted", "rejected", "leased")  # an expert's work on an item that a re-import must not repeat


def import_judgments(session: Session, actor: Actor, project_id: int, records: Iterable[tuple[int | None, Any]],
                     *, source: str = "auto", question: str | None = None, unit: str = "line") -> dict:
    """Import the judgments in ``records`` (``(line, record)`` pairs, or ``(line, Problem)`` for
    an unreadable line); ``source`` is one of :data:`SOURCES` or ``auto`` (told by the first
    record's fields). ``question`` names the Argilla question to import when records answer
    several. Returns counts of what was imported and skipped."""
    require_staff(actor, "import judgments")
    if source != "auto" and source not in SOURCES:
        raise ValidationFailed(f"must be one of auto, {', '.join(SOURCES)}; got {source!r}", loc="source")
    project = load_project(session, project_id)
    run = _JudgmentImport(session, project, source, question, unit)
    with write(session):
        result = run.run(records)
        audit.record(session, actor, "judgments.imported", project_id=project.id, target=f"project {project.id}",
                     detail={k: v for k, v in result.items() if k != "project_id"})
    if result["items_created"]:
        refresh_statistics(session)
    return result


class _JudgmentImport:
    def __init__(self, session: Session, project: Any, source: str, question: str | None, unit: str):
        self.session, self.project, self.source, self.question, self.unit = session, project, source, question, unit
        self.spec = task_type(project.task_type)
        self.options = project.options or {}
        self.target = (project.adaptive_overlap or {}).get("min", project.overlap)
        self.experts: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.counts: Counter[str] = Counter()

    def run(self, records: Iterable[tuple[int | None, Any]]) -> dict:
        self.item_floor = repo.max_item_id(self.session)
        self.assignment_floor = self.session.execute(
            select(Assignment.id).order_by(Assignment.id.desc()).limit(1)).scalar() or 0
        self.now = utcnow()

        def read(n: int, line: int | None, record: Any) -> list[SourceJudgment]:
            if isinstance(record, Problem):
                self.problems.append(record)
                return []
            return self._read(f"{self.unit} {line if line is not None else n}", record)

        n = in_batches(records, read, self._store, self.problems, size=BATCH, max_problems=MAX_PROBLEMS)
        if self.problems:
            raise ValidationFailed(self.problems)
        if not n:
            raise ValidationFailed("the file holds no records")
        if self.counts["judgments"]:
            from . import jobs

            if self.spec.has_consensus:
                jobs.enqueue(self.session, jobs.REFIT_CONSENSUS, project_id=self.project.id, debounce=True)
        return {"project_id": self.project.id, "source": self.source, "records": n,
                "judgments": self.counts["judgments"], "items_created": self.counts["items"],
                "experts_created": self.counts["experts"], "skipped_existing": self.counts["existing"],
                "skipped_in_source": self.counts["skipped"]}

    def _read(self, where: str, record: Any) -> list[SourceJudgment]:
        if self.source == "auto":
            found = detect_source(record)
            if found is None:
                self.problems.append(Problem(where, "is neither a Label Studio task, an Argilla record nor a "
                                                    "raw expertloop export record"))
                return []
            self.source = found
        read = read_record(self.source, record, where, question=self.question)
        self.problems += read.problems
        self.counts["skipped"] += read.skipped
        if self.source == "raw" and isinstance(record, dict) and record.get("task_type") != self.spec.name:
            self.problems.append(Problem(f"{where}: task_type", f"is {record.get('task_type')!r}; this project "
                                                                f"is {self.spec.name}"))
            return []
        if self.source != "raw" and read.judgments and self.spec.name != "label":
            self.problems.append(Problem(where, f"{self.source} choices import into label projects; this "
                                                f"project is {self.spec.name} (export it as expertloop raw "
                                                "records instead)"))
            return []
        return read.judgments

    # -- one batch --------------------------------------------------------------------------------
    def _store(self, batch: list[SourceJudgment]) -> None:
        if not batch:
            return
        items = self._items(batch)
        experts = self._experts(batch)
        pairs = {(items[j.item_external_id][0], experts[j.annotator]) for j in batch
                 if j.item_external_id in items and j.annotator in experts}
        held = self._held(pairs)
        rows: list[dict] = []
        first: dict[tuple[int, int], str] = {}
        for j in batch:
            if j.item_external_id not in items or j.annotator not in experts:
                continue
            item_id, payload = items[j.item_external_id]
            key = (item_id, experts[j.annotator])
            if key in first:
                self.problems.append(Problem(j.where, f"{j.annotator} judged this item already ({first[key]})"))
                continue
            first[key] = j.where
            if key in held:
                if held[key] > self.assignment_floor:
                    self.problems.append(Problem(j.where, f"{j.annotator} judged this item already, earlier in "
                                                          "the file"))
                else:
                    self.counts["existing"] += 1
                continue
            c = Checker()
            response = self.spec.check_response(c, j.response, self.options, payload, "response")
            if c.problems:
                self.problems += [Problem(f"{j.where}: {p.loc}", p.msg) for p in c.problems]
                continue
            at = j.submitted_at or self.now
            rows.append({"project_id": self.project.id, "item_id": item_id, "expert_id": key[1],
                         "state": "submitted", "leased_at": at, "lease_expires_at": at, "last_seen_at": at,
                         "submitted_at": at, "active_seconds": j.active_seconds,
                         "guidelines_version": self.project.guidelines_version, "response": response})
        if rows:
            self.session.execute(insert(Assignment), rows)
            done = Counter(r["item_id"] for r in rows)
            items_table = cast(sa.Table, Item.__table__)
            self.session.execute(update(items_table).where(items_table.c.id == bindparam("iid")).values(
                done_count=items_table.c.done_count + bindparam("n")), [{"iid": k, "n": v} for k, v in done.items()])
            self.counts["judgments"] += len(rows)

    def _items(self, batch: list[SourceJudgment]) -> dict[str, tuple[int, dict]]:
        """external id -> (item id, payload) for the batch's items, creating the missing ones."""
        wanted = {j.item_external_id: j for j in batch}
        found = self._load_items(list(wanted))
        missing = [eid for eid in wanted if eid not in found]
        new_rows = []
        for eid in missing:
            j = wanted[eid]
            try:
                spec = parse_item({**j.item, "external_id": eid}, self.spec.name, self.options)
            except ValidationFailed as exc:
                self.problems += exc.prefixed(f"{j.where}: item").problems
                continue
            new_rows.append((eid, 0, _json(spec.payload), _json(spec.gold) if spec.gold is not None else None, None))
        if new_rows:
            repo.insert_items(self.session, self.project.id, self.target, self.now, new_rows)
            self.counts["items"] += len(new_rows)
            found.update(self._load_items([r[0] for r in new_rows]))
        return found

    def _load_items(self, eids: list[str]) -> dict[str, tuple[int, dict]]:
        return repo.items_by_external_id(self.session, self.project.id, eids)

    def _experts(self, batch: list[SourceJudgment]) -> dict[str, int]:
        names = {j.annotator: j.annotator_name for j in batch}
        unknown = [e for e in names if e not in self.experts]
        if unknown:
            for email, expert_id in self.session.execute(select(Expert.email, Expert.id)
                                                         .where(Expert.email.in_(unknown))):
                self.experts[email] = expert_id
        for email in unknown:
            if email in self.experts:
                continue
            if len(email) > 320:
                self.problems.append(Problem("", f"annotator {email[:60]}… has an email longer than 320 characters"))
                continue
            expert = Expert(name=names[email][:200], email=email, degree=0, licenses=[], domains={}, languages=[],
                            hourly_rate_cents=0, status=APPLICANT, verified_domains={}, created_at=self.now)
            self.session.add(expert)
            self.session.flush()
            self.experts[email] = expert.id
            self.counts["experts"] += 1
        return self.experts

    def _held(self, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """(item, expert) pairs that already have a judgment or a live piece of work, with its id."""
        if not pairs:
            return {}
        item_ids = sorted({i for i, _ in pairs})
        return {(i, e): a for i, e, a in repo.work_on_items(self.session, item_ids, HELD) if (i, e) in pairs}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
