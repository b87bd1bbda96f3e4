"""One function per job kind: ``handler(session, job, progress) -> result dict``.

A handler opens its own units of work (services do), may run twice (a worker that dies lets
its lease lapse and another takes the job over), and reports progress through ``progress``.
Add a kind here and enqueue it with :func:`expertloop.services.jobs.enqueue`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from ..services import ai_help, chat, consensus, export_jobs
from ..services.jobs import REFIT_CONSENSUS

Progress = Callable[[dict], None]
Handler = Callable[[Session, dict, Progress], dict | None]


def refit_consensus(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("a refit_consensus job needs a project_id")
    progress({"step": "fitting"})
    return consensus.refit_consensus(session, job["project_id"])


def chat_turn(session: Session, job: dict, progress: Progress) -> dict:
    progress({"step": "asking the model"})
    return chat.generate_turn(session, job)


def ai_suggestions(session: Session, job: dict, progress: Progress) -> dict:
    if job["project_id"] is None:
        raise ValueError("an ai_suggestions job needs a project_id")
    return ai_help.generate(session, job["project_id"], job_id=job["id"], progress=progress)


HANDLERS: dict[str, Handler] = {REFIT_CONSENSUS: refit_consensus, chat.CHAT_TURN: chat_turn,
                                ai_help.AI_SUGGESTIONS: ai_suggestions,
                                export_jobs.EXPORT: export_jobs.run_export}
