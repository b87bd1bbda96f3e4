"""A project's life after creation: its status (``domain.lifecycle``), a new guidelines
version, and changes to budget, overlap and requirements, each saying what happens to the work
in flight.

Every change here is recorded in the audit trail when one is installed (who and when)."""

from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.assignments import AssignmentState
from ..domain.checks import Checker
from ..domain.errors import Conflict, ValidationFailed
from ..domain.lifecycle import EFFECTS, ProjectStatus, check_transition, parse_status
from ..domain.money import fmt_usd, from_cents, parse_usd, to_cents
from ..domain.policies import Actor, require_staff
from ..domain.projects import parse_requirements
from ..storage import repositories as repo
from ..storage.orm import Assignment, GuidelineVersion, Item, Project
from . import audit
from .clock import utcnow
from .projects import load_project
from .uow import reads, writes

MAX_GUIDELINES_CHARS = 200_000


def _editable(project: Project) -> None:
    if project.status == ProjectStatus.archived.value:
        raise Conflict(f"project {project.id} is archived: it is a read-only record")


@writes
def set_status(session: Session, actor: Actor, project_id: int, status: object, *,
               now: datetime | None = None) -> dict:
    """Move a project along its lifecycle; closing releases the live leases."""
    require_staff(actor, "change a project's status")
    target = parse_status(status)
    now = now or utcnow()
    repo.lock_project(session, project_id)
    project = load_project(session, project_id)
    current = ProjectStatus(project.status)
    check_transition(current, target)
    released = 0
    if target == ProjectStatus.closed:
        result = session.execute(update(Assignment).where(
            Assignment.project_id == project.id, repo.live_lease_filter(now))
            .values(state=AssignmentState.released.value))
        released = int(getattr(result, "rowcount", 0) or 0)
    project.status = target.value
    audit.record(session, actor, "project.status_changed", project_id=project.id, target=project.name,
                 detail={"from": current.value, "to": target.value, "released_leases": released})
    effect = EFFECTS[target]
    if released:
        effect += f" ({released} live lease{'' if released == 1 else 's'} released)"
    return {"project_id": project.id, "status": target.value, "previous": current.value,
            "released_leases": released, "effect": effect}


@writes
def publish_guidelines(session: Session, actor: Actor, project_id: int, text: object, *,
                       base_version: int | None = None, now: datetime | None = None) -> dict:
    """Publish new guidelines as the next version. Leases already held keep the version they
    were taken under (exports name it); each trainer's next task shows what changed.
    ``base_version`` is the version the editor started from: if another one was published
    meanwhile, nothing is published (Conflict) rather than overwriting it unseen."""
    require_staff(actor, "edit guidelines")
    if not isinstance(text, str):
        raise ValidationFailed("must be text (markdown)", loc="guidelines")
    c = Checker()
    if len(text) > MAX_GUIDELINES_CHARS:
        c.fail("guidelines", f"must be at most {MAX_GUIDELINES_CHARS} characters")
    c.raise_if_any()
    repo.lock_project(session, project_id)
    project = load_project(session, project_id)
    _editable(project)
    if base_version is not None and base_version != project.guidelines_version:
        raise Conflict(f"version {project.guidelines_version} of the guidelines was published since you started "
                       f"from version {base_version}; nothing was published: read it and edit again")
    if text.strip() == (project.guidelines or "").strip():
        raise Conflict(f"these are already version {project.guidelines_version} of the guidelines")
    now = now or utcnow()
    if session.get(GuidelineVersion, (project.id, project.guidelines_version)) is None:
        session.add(GuidelineVersion(project_id=project.id, version=project.guidelines_version,
                                     text=project.guidelines or "", created_at=project.created_at))
    project.guidelines_version += 1
    project.guidelines = text
    session.add(GuidelineVersion(project_id=project.id, version=project.guidelines_version, text=text,
                                 created_at=now))
    session.flush()
    audit.record(session, actor, "guidelines.published", project_id=project.id, target=project.name,
                 detail={"version": project.guidelines_version})
    held = _live_leases(session, project.id, now)
    leases = f"{held} lease{'' if held == 1 else 's'} in flight"
    return {"project_id": project.id, "guidelines_version": project.guidelines_version,
            "effect": f"{leases} keep version {project.guidelines_version - 1}; "
                      "each trainer's next task shows what changed"}


def _live_leases(session: Session, project_id: int, now: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(Assignment).where(
        Assignment.project_id == project_id, repo.live_lease_filter(now))).scalar_one())


@reads
def guidelines_text(session: Session, project: Project, version: int) -> str | None:
    if version == project.guidelines_version:
        return project.guidelines or ""
    row = session.get(GuidelineVersion, (project.id, version))
    return row.text if row is not None else None


@reads
def guidelines_change(session: Session, actor: Actor, project_id: int, assignment_id: int) -> dict | None:
    """What changed in the guidelines since the version of the calling expert's previous task in
    the project (None when nothing did): shown once, on their first task under the new version."""
    expert_id = actor.expert_id
    if expert_id is None:
        return None
    project = load_project(session, project_id)
    previous = session.execute(select(Assignment.guidelines_version).where(
        Assignment.project_id == project.id, Assignment.expert_id == expert_id, Assignment.id < assignment_id)
        .order_by(Assignment.id.desc()).limit(1)).scalar_one_or_none()
    if previous is None or previous >= project.guidelines_version:
        return None
    old = guidelines_text(session, project, previous)
    if old is None:
        return None
    lines = []
    for line in difflib.unified_diff(old.splitlines(), (project.guidelines or "").splitlines(), lineterm="", n=1):
        if line.startswith(("---", "+++")):
            continue
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else \
            "hunk" if line.startswith("@@") else "same"
        lines.append({"kind": kind, "text": line[1:] if kind in ("add", "del", "same") else "…"})
    return {"from_version": previous, "to_version": project.guidelines_version, "lines": lines}


@writes
def update_settings(session: Session, actor: Actor, project_id: int, changes: dict, *,
                    now: datetime | None = None) -> dict:
    """Change budget (``budget_usd``, ``None`` for no budget), fixed ``overlap`` and
    ``requirements``. Every problem is reported at once and nothing changes unless all is
    well. Returns what happened to the work in flight, in words (``effects``)."""
    require_staff(actor, "change a project's settings")
    if not isinstance(changes, dict):
        raise ValidationFailed("must be an object", loc="body")
    c = Checker()
    c.no_unknown(changes, ("budget_usd", "overlap", "requirements"), "")
    now = now or utcnow()
    repo.lock_project(session, project_id)
    project = load_project(session, project_id)
    _editable(project)
    effects: list[str] = []
    budget_cents: int | None = project.budget_cents
    if "budget_usd" in changes:
        raw = changes["budget_usd"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            budget_cents = None
        else:
            try:
                budget_cents = to_cents(parse_usd(raw))
            except ValueError as exc:
                c.fail("budget_usd", str(exc))
            else:
                spent = repo.project_spent_cents(session, project.id)
                if budget_cents < spent:
                    c.fail("budget_usd", f"is below what the project has already spent "
                                         f"(${fmt_usd(from_cents(spent))}); pay already earned is never taken back")
    overlap = None
    if "overlap" in changes:
        if project.adaptive_overlap:
            c.fail("overlap", "this project uses adaptive overlap; its minimum and maximum are set at creation")
        else:
            overlap = c.integer(changes, "overlap", "", lo=1, hi=50)
    requirements = None
    if "requirements" in changes:
        requirements = parse_requirements(c, changes["requirements"])
    c.raise_if_any()
    if "budget_usd" in changes and budget_cents != project.budget_cents:
        project.budget_cents = budget_cents
        effects.append("no budget: leasing is no longer limited by spend" if budget_cents is None else
                       f"budget now ${fmt_usd(from_cents(budget_cents))}; leases in flight keep their "
                       "reservation, new leases stop when earnings and reservations reach it")
    if overlap is not None and overlap != project.overlap:
        old = project.overlap
        result = session.execute(update(Item).where(Item.project_id == project.id, Item.target_overlap == old)
                                 .values(target_overlap=overlap))
        changed = int(getattr(result, "rowcount", 0) or 0)
        project.overlap = overlap
        if overlap > old:
            effects.append(f"overlap {old} → {overlap}: {changed} items need more judgments and reopen")
        else:
            complete = int(session.execute(select(func.count()).select_from(Item).where(
                Item.project_id == project.id, Item.done_count >= overlap, Item.done_count < old)).scalar_one())
            effects.append(f"overlap {old} → {overlap}: {complete} items are now complete; leases held on "
                           "them may still be submitted and their judgments count")
    if requirements is not None and requirements.to_json() != (project.requirements or {}):
        project.requirements = requirements.to_json()
        held = _live_leases(session, project.id, now)
        effects.append(f"requirements changed: trainers who no longer qualify lease nothing new; "
                       f"the {held} lease{'' if held == 1 else 's'} in flight may be submitted")
    if effects:
        audit.record(session, actor, "project.settings_changed", project_id=project.id, target=project.name,
                     detail={"changed": sorted(k for k in changes if k in ("budget_usd", "overlap", "requirements")),
                             "budget_cents": project.budget_cents, "overlap": project.overlap,
                             "requirements": project.requirements, "effects": effects})
    else:
        effects.append("nothing changed")
    return {"project_id": project.id, "effects": effects}
