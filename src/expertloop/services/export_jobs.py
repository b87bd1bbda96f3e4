"""Big exports as jobs: requested by staff, written by a worker to a file under the data
directory, followed by their progress and downloaded when done.

A request checks everything a synchronous export would (access, format, consensus options)
before anything is queued, so a bad request is refused at once rather than failing later in a
worker. The output path is chosen here, under ``<data_dir>/exports``, and kept in the job: the
worker needs no settings, and no client ever names a path. The file is written under
``NAME.partial`` and renamed when complete (:func:`.exports.write_file`), so a worker that dies
leaves no half file under the real name, and the job, retried, writes it again.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.policies import Actor, Role, require_staff
from ..storage.orm import Job
from . import audit, exports
from .jobs import DONE, FAILED, enqueue, job_view
from .uow import reads, run_write

EXPORT = "export"
SIGNED_EXPORT = "signed_export"  # a signed passport ZIP (services.passport_jobs), listed and served alike
KINDS = (EXPORT, SIGNED_EXPORT)
FILE_TYPES = exports.FILE_TYPES
SYSTEM = Actor(role=Role.admin)  # a queued export was authorised when it was requested
PROGRESS_EVERY = 20_000


def exports_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "exports"


def request_export(session: Session, actor: Actor, project_id: int, fmt: str, *, data_dir: Path,
                   consensus: bool = False, min_judgments: int | None = None,
                   min_confidence: float | None = None, file: str = "jsonl", judge_settled: bool = False) -> dict:
    """Queue an export of a project to a file; returns the export (a job) as queued."""
    require_staff(actor, "export data")
    if file not in FILE_TYPES:
        raise ValidationFailed(f"must be one of {', '.join(FILE_TYPES)}; got {file!r}", loc="file")
    _, _, parsed = exports.check_export(session, actor, project_id, fmt, consensus=consensus,
                                        min_judgments=min_judgments, min_confidence=min_confidence)
    name = f"project-{project_id}-{parsed.value}{'-consensus' if consensus else ''}-{secrets.token_hex(6)}.{file}"
    payload = {"format": parsed.value, "consensus": consensus, "min_judgments": min_judgments,
               "min_confidence": min_confidence, "judge_settled": judge_settled, "file": file,
               "path": str(exports_dir(data_dir) / name),
               "requested_by": actor.role.value}
    def queue() -> int | None:
        job_id = enqueue(session, EXPORT, project_id=project_id, payload=payload, max_attempts=3)
        audit.record(session, actor, "export.requested", project_id=project_id, target=f"export {job_id}",
                     detail={k: payload[k] for k in ("format", "file", "consensus", "min_judgments",
                                                      "min_confidence")})
        return job_id

    job_id = run_write(session, queue)
    assert job_id is not None
    return get_export(session, actor, job_id)


def run_export(session: Session, job: dict, progress) -> dict:
    """The job's handler: write the file, reporting how many records are written so far."""
    payload = job["payload"] or {}
    path = Path(payload["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = exports.iter_records(session, SYSTEM, job["project_id"], payload["format"],
                                  consensus=bool(payload.get("consensus")),
                                  min_judgments=payload.get("min_judgments"),
                                  min_confidence=payload.get("min_confidence"),
                                  judge_settled=bool(payload.get("judge_settled")))
    progress({"records": 0})
    n = exports.write_file(stream, path, progress=lambda done: progress({"records": done}),
                           every=PROGRESS_EVERY)
    return {"records": n, **stream.summary(), "summary": stream.summary_line(), "file": path.name,
            "bytes": path.stat().st_size}


def export_view(job: Job) -> dict:
    view = job_view(job)
    payload = job.payload or {}
    result = view["result"] or {}
    done = view["state"] == DONE
    return {"id": view["id"], "project_id": view["project_id"], "state": view["state"],
            "format": payload.get("format"), "file_type": payload.get("file"), "signed": job.kind == SIGNED_EXPORT,
            "consensus": bool(payload.get("consensus")), "min_judgments": payload.get("min_judgments"),
            "min_confidence": payload.get("min_confidence"), "judge_settled": bool(payload.get("judge_settled")),
            "records": result.get("records", (view["progress"] or {}).get("records")),
            "left_out": result.get("left_out"), "summary": result.get("summary"), "bytes": result.get("bytes"),
            "file_name": result.get("file"), "error": view["error"] if view["state"] == FAILED else None,
            "created_at": view["created_at"], "finished_at": view["finished_at"],
            "download_url": f"/api/v1/exports/{view['id']}/download" if done else None}


def _load(session: Session, export_id: int) -> Job:
    job = session.get(Job, export_id)
    if job is None or job.kind not in KINDS:
        raise NotFound(f"export {export_id} not found")
    return job


@reads
def get_export(session: Session, actor: Actor, export_id: int) -> dict:
    require_staff(actor, "see exports")
    return export_view(_load(session, export_id))


@reads
def list_exports(session: Session, actor: Actor, project_id: int, limit: int = 10) -> list[dict]:
    from sqlalchemy import select

    require_staff(actor, "see exports")
    q = (select(Job).where(Job.kind.in_(KINDS), Job.project_id == project_id).order_by(Job.id.desc())
         .limit(min(max(limit, 1), 100)))
    return [export_view(j) for j in session.execute(q).scalars()]


@reads
def export_file(session: Session, actor: Actor, export_id: int, *, data_dir: Path) -> tuple[Path, str]:
    """The finished file of an export and the name to download it as (staff only). The stored
    path is resolved (links followed) and served only if it lies under ``<data_dir>/exports``:
    a job row naming any other file is refused, whoever wrote it."""
    require_staff(actor, "download exports")
    job = _load(session, export_id)
    if job.state != DONE:
        raise Conflict(f"export {export_id} is {job.state}, not done: follow GET /api/v1/exports/{export_id}")
    stored = (job.payload or {}).get("path")
    root = exports_dir(data_dir)
    try:
        path = Path(str(stored)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise NotFound(f"the file of export {export_id} is gone from the data directory") from None
    if not path.is_relative_to(root) or path == root:
        raise NotFound(f"the file of export {export_id} is not in the data directory's exports")
    if not path.is_file():
        raise NotFound(f"the file of export {export_id} is gone from the data directory")
    return path, path.name
