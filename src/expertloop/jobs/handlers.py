"""One function per job kind: ``handler(session, job, progress) -> result dict``.

A handler opens its own units of work (services do), may run twice (a worker that dies lets
its lease lapse and another takes the job over), and reports progress through ``progress``.
Add a kind here and enqueue it with :func:`expertloop.services.jobs.enqueue`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from ..services import (
    ai_help,
    chat,
    claims,
    consensus,
    export_jobs,
    generation,
    judging,
    models,
    passport_jobs,
    reports,
)
from ..services.jobs import GENERATE_CANDIDATES, JUDGE_ITEMS, REFIT_CONSENSUS, REFRESH_QUALITY, SPLIT_CLAIMS
from ..services.uow import run_write

Progress = Callable[[dict], None]
Handler = Callable[[Session, dict, Progress], dict | None]


def refit_consensus(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("a refit_consensus job needs a project_id")
    progress({"step": "fitting"})
    return consensus.refit_consensus(session, job["project_id"])


def refresh_quality(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("a refresh_quality job needs a project_id")
    progress({"step": "computing the quality report"})
    force = bool((job.get("payload") or {}).get("force", True))
    return reports.refresh_snapshot(session, job["project_id"], force=force)


def _model_work_changed(session: Session, project_id: int) -> None:
    """Model judgments changed the report's judges / FActScore sections: queue its refresh."""
    from ..services.reports import queue_forced_refresh

    run_write(session, lambda: queue_forced_refresh(session, project_id, REFRESH_QUALITY))


def chat_turn(session: Session, job: dict, progress: Progress) -> dict:
    progress({"step": "asking the model"})
    return chat.generate_turn(session, job)


def ai_suggestions(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("an ai_suggestions job needs a project_id")
    return ai_help.generate(session, job["project_id"], job_id=job["id"], progress=progress)


def generate_candidates(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("a generate_candidates job needs a project_id")
    progress({"step": "generating", "done": 0})
    return generation.generate_candidates(session, job["project_id"], job_id=job["id"], progress=progress)


def judge_items(session: Session, job: dict, progress: Progress) -> dict:
    model = (job.get("payload") or {}).get("model")
    if job["project_id"] is None or not model:
        raise ValueError("a judge_items job needs a project_id and payload.model")
    progress({"step": "judging", "model": model, "judged": 0})
    result = judging.judge_items(session, job["project_id"], model, job_id=job["id"], progress=progress)
    _model_work_changed(session, job["project_id"])
    return result


def split_claims(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("a split_claims job needs a project_id")
    progress({"step": "splitting claims", "done": 0})
    result = claims.split_claims(session, job["project_id"], job_id=job["id"], progress=progress)
    _model_work_changed(session, job["project_id"])
    return result


def test_model(session: Session, job: dict, progress: Progress) -> dict:
    name = (job.get("payload") or {}).get("name")
    if not name:
        raise ValueError("a test_model job needs payload.name")
    progress({"step": "asking the model"})
    return models.check_endpoint(session, None, name)


HANDLERS: dict[str, Handler] = {REFIT_CONSENSUS: refit_consensus, export_jobs.EXPORT: export_jobs.run_export,
                                GENERATE_CANDIDATES: generate_candidates, JUDGE_ITEMS: judge_items,
                                SPLIT_CLAIMS: split_claims, chat.CHAT_TURN: chat_turn,
                                REFRESH_QUALITY: refresh_quality,
                                ai_help.AI_SUGGESTIONS: ai_suggestions, models.TEST_MODEL: test_model,
                                export_jobs.SIGNED_EXPORT: passport_jobs.run_signed_export}
