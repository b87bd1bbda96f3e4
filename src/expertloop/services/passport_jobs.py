"""Signed exports as jobs: the passport ZIP (data, signed ``manifest.json``, optionally the Hub
folder and the audit log) reads the whole project, so a request only checks the options and
queues it; a worker writes the ZIP under ``<data_dir>/exports`` and it is followed and downloaded
like any export job (:mod:`.export_jobs`: ``GET /api/v1/exports/{id}``, ``…/download``).

The worker has no settings: the authenticity thresholds the manifest states are taken from the
requesting server's settings and kept in the job. The folder is written next to the ZIP, zipped
to ``NAME.partial`` and renamed when complete, so a worker that dies leaves no half file under
the real name, and the job, retried, writes it again.
"""

from __future__ import annotations

import secrets
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from ..domain.policies import Actor, require_staff
from . import audit, exports, passport
from .export_jobs import SIGNED_EXPORT, SYSTEM, exports_dir, get_export
from .jobs import enqueue
from .uow import run_write

THRESHOLDS = ("authenticity_unkeyed_share", "authenticity_similarity", "authenticity_min_chars")


def request_signed_export(session: Session, actor: Actor, project_id: int, fmt: str, *, data_dir: Path,
                          settings: Any, file_format: str = "jsonl", consensus: bool = False,
                          min_judgments: int | None = None, min_confidence: float | None = None,
                          hub: bool = False, test_share: float = 0.1, seed: int = 0, license: str = "other",
                          include_audit: bool = False) -> dict:
    """Queue a signed export; returns it (a job) as queued. Every option is checked first."""
    require_staff(actor, "export data")
    file_format = passport.check_options(file_format=file_format, hub=hub, test_share=test_share, seed=seed,
                                         license=license)
    _, _, parsed = exports.check_export(session, actor, project_id, fmt, consensus=consensus,
                                        min_judgments=min_judgments, min_confidence=min_confidence)
    name = f"project-{project_id}-{parsed.value}{'-hub' if hub else ''}-signed-{secrets.token_hex(6)}.zip"
    options = {"file_format": file_format, "consensus": consensus, "min_judgments": min_judgments,
               "min_confidence": min_confidence, "hub": hub, "test_share": test_share, "seed": seed,
               "license": license, "include_audit": include_audit}
    payload = {"format": parsed.value, "file": "zip", "path": str(exports_dir(data_dir) / name), **options,
               "thresholds": {k: getattr(settings, k) for k in THRESHOLDS}, "requested_by": actor.role.value}

    def queue() -> int | None:
        job_id = enqueue(session, SIGNED_EXPORT, project_id=project_id, payload=payload, max_attempts=3)
        audit.record(session, actor, "export.requested", project_id=project_id, target=f"export {job_id}",
                     detail={"format": parsed.value, "file": "zip", "signed": True, "hub": hub})
        return job_id

    job_id = run_write(session, queue)
    assert job_id is not None
    return get_export(session, actor, job_id)


def run_signed_export(session: Session, job: dict, progress) -> dict:
    """The job's handler: the signed folder, zipped under its final name when complete."""
    payload = job["payload"] or {}
    path = Path(payload["path"])
    folder = path.with_name(path.name + ".dir")
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(folder, ignore_errors=True)   # a run that died left it half written
    path.parent.mkdir(parents=True, exist_ok=True)
    progress({"step": "writing"})
    try:
        manifest = passport.export_dataset(
            session, SYSTEM, job["project_id"], payload["format"], folder,
            file_format=payload["file_format"], consensus=bool(payload.get("consensus")),
            min_judgments=payload.get("min_judgments"), min_confidence=payload.get("min_confidence"),
            hub=bool(payload.get("hub")), test_share=payload.get("test_share", 0.1), seed=payload.get("seed", 0),
            license=payload.get("license", "other"), include_audit=bool(payload.get("include_audit")),
            settings=SimpleNamespace(**payload["thresholds"]) if payload.get("thresholds") else None)
        progress({"step": "zipping"})
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    z.write(file, file.relative_to(folder).as_posix())
        partial.replace(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        partial.unlink(missing_ok=True)
    counts = manifest.get("counts") or {}
    return {"records": counts.get("records"), "left_out": counts.get("left_out"), "file": path.name,
            "bytes": path.stat().st_size}


__all__ = ["request_signed_export", "run_signed_export"]
