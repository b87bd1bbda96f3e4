"""Consent: which version of a project's terms each expert agreed to, and its withdrawal.

A project may carry terms (markdown). An expert must agree to the current version before
leasing work in it; each assignment records the consent it was done under, so every exported
record names its terms version. Publishing new terms bumps the version: work already done
stays under the old consent, new work needs the new one. Withdrawal is recorded (never
deleted), releases the expert's live leases, and takes every contribution of the expert in the
project (also any made before the project had terms) out of every later export, consensus fit,
quality report and review queue. Pay for time already worked is kept: the ledger is a record of
what happened.

A withdrawal needs no terms: in a project without terms (the default), or for work done before
the expert agreed, staff (or the expert) record it and a consent row is written with no terms
version and no agreement time (``recorded_without_terms``). It covers all of the expert's work in
the project so far, exactly like any withdrawal. In a project without terms the expert then takes
no new work there; if the project publishes terms, agreeing to them lets them work again.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from ..domain.assignments import DONE_STATES
from ..domain.checks import Checker
from ..domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.policies import Actor, require_expert, require_staff
from ..domain.projects import parse_terms
from ..storage import repositories as repo
from ..storage.orm import Assignment, Consent, Expert, Notification, Project
from . import audit
from .clock import utcnow
from .consensus import forget_fit
from .projects import load_project, project_for_expert
from .uow import reads, writes
from .views import iso

MAX_REASON_CHARS = 2000
_MAX_ID = 2**31 - 1


class ConsentRequired(PermissionDenied):
    """The expert has not agreed to the project's current terms (or withdrew)."""


class ConsentWithdrawn(PermissionDenied):
    """The expert withdrew from a project without terms: there is nothing to agree to, so the
    project takes no new work from them (unlike ConsentRequired, agreeing cannot cure it)."""


def consent_view(c: Consent, name: str | None = None) -> dict:
    view = {"id": c.id, "project_id": c.project_id, "expert_id": c.expert_id, "terms_version": c.terms_version,
            "agreed_at": iso(c.agreed_at), "withdrawn_at": iso(c.withdrawn_at),
            "withdrawal_reason": c.withdrawal_reason, "withdrawn_by": c.withdrawn_by,
            "recorded_without_terms": c.terms_version is None}
    if name is not None:
        view["expert_name"] = name
    return view


@reads
def live_consent(session: Session, project_id: int, expert_id: int) -> Consent | None:
    """The expert's consent in force in the project (the newest not withdrawn), if any."""
    return session.execute(_live_consent_statement(), {"project_id": project_id,
                                                       "expert_id": expert_id}).scalar_one_or_none()


@functools.cache
def _live_consent_statement() -> Select:
    return select(Consent).where(
        Consent.project_id == bindparam("project_id"), Consent.expert_id == bindparam("expert_id"),
        Consent.withdrawn_at.is_(None)).order_by(Consent.id.desc()).limit(1)


@functools.cache
def _withdrawn_without_terms_statement() -> Select:
    return select(Consent.withdrawn_at).where(
        Consent.project_id == bindparam("project_id"), Consent.expert_id == bindparam("expert_id"),
        Consent.terms_version.is_(None)).order_by(Consent.id.desc()).limit(1)


@reads
def require_current_consent(session: Session, project: Project, expert_id: int) -> Consent | None:
    """For a new lease: the consent to the project's current terms, or ConsentRequired.
    Projects without terms need none (None), unless the expert's withdrawal from the project is
    on record: then they take no new work there."""
    if not project.terms_version:
        withdrawn = session.execute(_withdrawn_without_terms_statement(), {
            "project_id": project.id, "expert_id": expert_id}).scalar_one_or_none()
        if withdrawn is not None:
            raise ConsentWithdrawn(f"consent to work in project {project.id} was withdrawn on {iso(withdrawn)}; "
                                   "it takes no new work from this expert")
        return None
    consent = live_consent(session, project.id, expert_id)
    if consent is None or consent.terms_version != project.terms_version:
        changed = consent is not None
        raise ConsentRequired(
            f"{'the terms of project ' + str(project.id) + ' changed; ' if changed else ''}"
            f"agree to version {project.terms_version} of its terms first "
            f"(GET then POST /api/v1/projects/{project.id}/consent)")
    return consent


@reads
def require_live_consent(session: Session, project: Project, expert_id: int) -> Consent:
    """For a submit of work leased before the project had terms: any consent in force."""
    consent = live_consent(session, project.id, expert_id)
    if consent is None:
        raise ConsentRequired(f"agree to version {project.terms_version} of project {project.id}'s terms "
                              f"before submitting (GET then POST /api/v1/projects/{project.id}/consent)")
    return consent


@reads
def consent_withdrawn(session: Session, assignment: Assignment) -> bool:
    """Whether the consent the work was done under has been withdrawn."""
    if assignment.consent_id is None:
        return False
    consent = session.get(Consent, assignment.consent_id)
    return consent is not None and consent.withdrawn_at is not None


@reads
def require_consent_standing(session: Session, assignment: Assignment) -> None:
    """For a submit or heartbeat: the consent the lease was taken under must not be withdrawn."""
    if consent_withdrawn(session, assignment):
        raise ConsentRequired(f"consent to project {assignment.project_id}'s terms was withdrawn; "
                              "this work can no longer be submitted")


@reads
def my_terms(session: Session, actor: Actor, project_id: int) -> dict:
    """The project's terms and the calling expert's consent (or, for staff, just the terms)."""
    if actor.is_staff:
        project = load_project(session, project_id)
        consent = None
    else:
        expert_id = require_expert(actor)
        consent = live_consent(session, project_id, expert_id)
        # someone paused or no longer qualified may still read what they agreed to and withdraw
        project = load_project(session, project_id) if consent else project_for_expert(session, actor, project_id)
    return {"project_id": project.id, "project": project.name, "terms": project.terms,
            "terms_version": project.terms_version or 0,
            "consent": consent_view(consent) if consent is not None else None,
            "current": bool(consent is not None and consent.terms_version == project.terms_version)}


@writes
def agree(session: Session, actor: Actor, project_id: int, terms_version: object, *,
          now: datetime | None = None) -> dict:
    """Record the calling expert's agreement to ``terms_version`` (must be the current one).
    Agreeing again to the version already in force changes nothing."""
    expert_id = require_expert(actor)
    if isinstance(terms_version, bool) or not isinstance(terms_version, int):
        raise ValidationFailed("must be the integer version of the terms you read", loc="terms_version")
    repo.lock_project(session, project_id)  # one agreement at a time per project: no duplicate rows
    project = project_for_expert(session, actor, project_id)
    if not project.terms_version:
        raise Conflict(f"project {project.id} has no terms to agree to")
    if terms_version != project.terms_version:
        raise Conflict(f"version {terms_version} is not the current terms of project {project.id}; "
                       f"read version {project.terms_version} and agree to it")
    consent = live_consent(session, project.id, expert_id)
    if consent is None or consent.terms_version != terms_version:
        # A consent to an older version stays in force for the work done under it.
        consent = Consent(project_id=project.id, expert_id=expert_id, terms_version=terms_version,
                          agreed_at=now or utcnow())
        session.add(consent)
        session.flush()
    view = consent_view(consent)
    return view


@writes
def withdraw(session: Session, actor: Actor, project_id: int, *, expert_id: int | None = None,
             reason: str | None = None, now: datetime | None = None) -> dict:
    """Withdraw consent: the expert's own, or (staff) an expert's on their written request.

    Every consent the expert holds in the project is marked withdrawn, their live leases are
    released, and managers are notified. Returns the withdrawn consents and how many
    contributions leave the exports. An expert who holds no consent but has work no consent
    covers (done before agreeing), or any expert in a project without terms, gets a consent
    recorded without terms, withdrawn at once. Conflict when there is nothing left to withdraw:
    the withdrawal is already on record, or (under terms) the expert never agreed nor worked."""
    if actor.is_staff:
        if expert_id is None:
            raise ValidationFailed("staff must name the expert whose consent is withdrawn", loc="expert_id")
        if isinstance(expert_id, bool) or not isinstance(expert_id, int) or not 0 < expert_id <= _MAX_ID:
            raise ValidationFailed("must be a positive integer expert id", loc="expert_id")
        by = actor.role.value
    else:
        own = require_expert(actor)
        if expert_id is not None and expert_id != own:
            raise PermissionDenied("experts may withdraw only their own consent")
        expert_id, by = own, "expert"
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
        raise ValidationFailed(f"must be text of at most {MAX_REASON_CHARS} characters", loc="reason")
    now = now or utcnow()
    repo.lock_project(session, project_id)  # two requests never record two withdrawals without terms
    project = load_project(session, project_id)
    consents = list(session.execute(select(Consent).where(
        Consent.project_id == project.id, Consent.expert_id == expert_id,
        Consent.withdrawn_at.is_(None))).scalars())
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    if consents:
        for c in consents:
            c.withdrawn_at, c.withdrawal_reason, c.withdrawn_by = now, (reason or None), by
    else:
        uncovered = session.execute(select(func.count()).select_from(Assignment).where(
            Assignment.project_id == project.id, Assignment.expert_id == expert_id,
            Assignment.consent_id.is_(None))).scalar_one()
        if not actor.is_staff and not uncovered:  # even when paused or no longer qualified, one's own work can go
            project_for_expert(session, actor, project_id)
        on_record = session.execute(select(Consent.id).where(
            Consent.project_id == project.id, Consent.expert_id == expert_id).limit(1)).first() is not None
        if not uncovered and (on_record or project.terms_version):
            raise Conflict(f"expert {expert_id} holds no consent in project {project.id} to withdraw"
                           + ("; their withdrawal is already on record" if on_record else ""))
        # Nothing was agreed to (no terms, or work done before agreeing): record the withdrawal.
        consents = [Consent(project_id=project.id, expert_id=expert_id, terms_version=None, agreed_at=None,
                            withdrawn_at=now, withdrawal_reason=reason or None, withdrawn_by=by)]
        session.add(consents[0])
        session.flush()
    ids = [c.id for c in consents]
    # Work done before the project had terms (or leased before the expert agreed) is covered by
    # no consent; withdrawing from the project takes it out too, under the oldest withdrawn one.
    session.execute(update(Assignment).where(
        Assignment.project_id == project.id, Assignment.expert_id == expert_id,
        Assignment.consent_id.is_(None)).values(consent_id=min(ids)))
    released = repo.release_live_leases(session, project.id, expert_id)
    forget_fit(session, project.id)  # no reader may see a fit or report with their judgments in it
    removed = session.execute(select(func.count()).select_from(Assignment).where(
        Assignment.consent_id.in_(ids), Assignment.state.in_([s.value for s in DONE_STATES]))).scalar_one()
    name = expert.name
    session.add(Notification(kind="consent_withdrawn", project_id=project.id, expert_id=expert_id, created_at=now,
                             message=f"{name} withdrew consent from project {project.id}; {removed} "
                                     f"{'contribution leaves' if removed == 1 else 'contributions leave'} "
                                     "every later export"))
    session.flush()
    if actor.is_staff:  # recorded on the expert's written request: a staff action
        audit.record(session, actor, "consent.withdrawn", project_id=project.id, target=f"expert {expert_id}",
                     detail={"contributions_removed": removed})
    view = {"project_id": project.id, "expert_id": expert_id, "withdrawn": [consent_view(c) for c in consents],
            "released_leases": released, "contributions_removed": removed}
    return view


@writes
def publish_terms(session: Session, actor: Actor, project_id: int, terms: object) -> dict:
    """Set new terms (staff): the version goes up by one and every expert must agree again
    before new work; what was done under earlier versions stays exported under them."""
    require_staff(actor, "publish a project's terms")
    c = Checker()
    text = parse_terms(c, terms)
    c.raise_if_any()
    if text is None:
        raise ValidationFailed("must be non-empty text (markdown)", loc="terms")
    repo.lock_project(session, project_id)  # two publishes never get the same version number
    project = load_project(session, project_id)
    if text == project.terms:
        raise Conflict(f"these are already version {project.terms_version} of project {project.id}'s terms")
    project.terms, project.terms_version = text, (project.terms_version or 0) + 1
    audit.record(session, actor, "terms.published", project_id=project.id,
                 target=f"terms version {project.terms_version}")
    view = {"project_id": project.id, "terms": project.terms, "terms_version": project.terms_version}
    return view


@reads
def list_consents(session: Session, actor: Actor, project_id: int) -> list[dict]:
    require_staff(actor, "see consents")
    load_project(session, project_id)
    rows = session.execute(select(Consent, Expert.name).join(Expert, Expert.id == Consent.expert_id)
                           .where(Consent.project_id == project_id).order_by(Consent.id)).all()
    return [consent_view(c, name) for c, name in rows]

