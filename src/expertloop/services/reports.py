"""The quality report as pages and the API read it: the copy the ``refit_consensus`` job
stored with the project's fit when there is one, else computed now.

The report reads every judgment of a project (agreement with bootstrap intervals, bias tests,
scorecards), so at programme scale it is computed by the job, next to the consensus fit it is
based on, and requests read the stored copy. ``fresh=True`` computes it now (the CLI does).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.policies import Actor, Role, require_staff
from ..storage.orm import ConsensusFit
from .consensus import Consensus
from .quality import project_quality
from .uow import reads
from .views import iso

log = logging.getLogger(__name__)
STORED_BOOTSTRAP = 200   # resamples behind the stored report's intervals
STORED_CONSENSUS = 1000  # least-confident items the stored report lists
_SYSTEM = Actor(role=Role.admin)  # the job computes the report for whoever may read it later


def compute_for_storage(session: Session, project_id: int, fitted: Consensus) -> dict | None:
    """The full report from ``fitted`` (the job calls this); None when it cannot be made, so a
    report problem never loses the fit."""
    try:
        return project_quality(session, _SYSTEM, project_id, n_boot=STORED_BOOTSTRAP,
                               consensus_limit=STORED_CONSENSUS, consensus=fitted)
    except Exception:
        log.warning("the quality report of project %s could not be stored", project_id, exc_info=True)
        return None


@reads
def stored_report(session: Session, actor: Actor, project_id: int) -> dict | None:
    """The stored report with ``computed_at``, or None when there is none yet."""
    require_staff(actor, "read quality reports")
    row = session.execute(select(ConsensusFit.quality_report, ConsensusFit.fitted_at)
                          .where(ConsensusFit.project_id == project_id)).first()
    if row is None or row.quality_report is None:
        return None
    return {**row.quality_report, "computed_at": iso(row.fitted_at)}


@reads
def quality_report(session: Session, actor: Actor, project_id: int, *, n_boot: int = STORED_BOOTSTRAP,
                   consensus_limit: int = STORED_CONSENSUS, fresh: bool = False) -> dict:
    """The project's quality report: the stored one when it answers the request (no more
    resamples or listed items than it holds), else computed now."""
    require_staff(actor, "read quality reports")
    if not fresh and n_boot <= STORED_BOOTSTRAP and consensus_limit <= STORED_CONSENSUS:
        report = stored_report(session, actor, project_id)
        if report is not None:
            if isinstance(report.get("consensus"), list):
                report["consensus"] = report["consensus"][:consensus_limit]
            return with_model_sections(session, project_id, report)
    report = project_quality(session, actor, project_id, n_boot=n_boot, consensus_limit=consensus_limit)
    return with_model_sections(session, project_id, {**report, "computed_at": None})


@reads
def with_model_sections(session: Session, project_id: int, report: dict) -> dict:
    """``report`` with the model sections, read now: judges measured against the experts'
    current consensus, and fact-check scores per model."""
    from .factscore import factscore_section
    from .judging import judge_section

    out = {**report, "judges": judge_section(session, project_id)}
    facts = factscore_section(session, project_id)
    if facts is not None:
        out["factscore"] = facts
    return out
