"""Creating projects and reading them back with progress and spend."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ..domain.errors import NotFound, PermissionDenied, Problem, ValidationFailed
from ..domain.experts import Degree, ExpertStatus
from ..domain.lifecycle import ProjectStatus, parse_status, takes_work
from ..domain.money import to_cents
from ..domain.policies import Actor, require_staff
from ..domain.projects import Requirements, parse_project, unmet_requirements
from ..storage import repositories as repo
from ..storage.orm import Certificate, Expert, ModelEndpoint, Project, ProjectPause
from . import audit
from . import progress as progress_counts
from .clock import utcnow
from .uow import reads, writes
from .views import project_view


@writes
def create_project(session: Session, actor: Actor, data: dict) -> dict:
    require_staff(actor, "create projects")
    status = ProjectStatus.live
    if isinstance(data, dict) and "status" in data:  # "draft" or "live" (the default)
        data = dict(data)
        status = parse_status(data.pop("status"))
        if status not in (ProjectStatus.draft, ProjectStatus.live):
            raise ValidationFailed("a new project is draft or live", loc="status")
    spec = parse_project(data)
    project = Project(
        name=spec.name, task_type=spec.task_type.value, guidelines=spec.guidelines,
        options=spec.options, requirements=spec.requirements.to_json(), overlap=spec.overlap,
        lease_minutes=spec.lease_minutes, max_minutes_per_task=spec.max_minutes_per_task,
        budget_cents=None if spec.budget_usd is None else to_cents(spec.budget_usd),
        hourly_rate_cents=None if spec.hourly_rate_usd is None else to_cents(spec.hourly_rate_usd),
        pseudonym_salt=secrets.token_hex(16),
        adaptive_overlap=spec.adaptive_overlap.to_json() if spec.adaptive_overlap else None,
        gold_policy=spec.gold_policy.to_json() if spec.gold_policy else None,
        quality_floor=spec.quality_floor.to_json() if spec.quality_floor else None,
        tiers={"tiers": [t.to_json() for t in spec.tiers], "escalation_tier": spec.escalation_tier}
        if spec.tiers else None,
        terms=spec.terms, terms_version=1 if spec.terms else 0, status=status.value,
        review_sampling=spec.review_sampling.to_json() if spec.review_sampling else None,
        retest_rate=spec.retest_rate, retest_after_hours=spec.retest_after_hours, models=spec.models_json(),
    )
    check_endpoints(session, spec.models_json())
    session.add(project)
    session.flush()
    audit.record(session, actor, "project.created", project_id=project.id, target=project.name,
                 detail={"task_type": project.task_type, "overlap": project.overlap,
                         "budget_cents": project.budget_cents})
    view = project_view(project, staff=True)
    return view


def check_endpoints(session: Session, models: dict | None) -> None:
    """Every endpoint a project's model settings name must be registered (``ai_assistance``, when
    given, is the project's ``options.ai_assistance``)."""
    if not models:
        return
    known = set(session.execute(select(ModelEndpoint.name)).scalars())
    problems = [Problem(f"candidates.models[{i}]", f"no model endpoint named {name!r}; register it with "
                                                   "`expertloop models add` or POST /api/v1/models")
                for i, name in enumerate((models.get("candidates") or {}).get("models", [])) if name not in known]
    for field in ("judge_first", "claims"):
        name = (models.get(field) or {}).get("model")
        if name is not None and name not in known:
            problems.append(Problem(f"{field}.model", f"no model endpoint named {name!r}"))
    name = (models.get("ai_assistance") or {}).get("model")
    if name is not None and name not in known:
        problems.append(Problem("options.ai_assistance.model", f"no model endpoint named {name!r}"))
    if problems:
        raise ValidationFailed(problems)


@reads
def load_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


@reads
def passed_exams(session: Session, expert_id: int) -> set[int]:
    return set(session.execute(_passed_exams_statement(), {"expert_id": expert_id}).scalars())


@functools.cache
def _passed_exams_statement() -> Select:
    return select(Certificate.exam_id).where(Certificate.expert_id == bindparam("expert_id"))


@functools.cache
def _pause_statement() -> Select:
    return select(ProjectPause.reason).where(
        ProjectPause.project_id == bindparam("project_id"), ProjectPause.expert_id == bindparam("expert_id"),
        ProjectPause.lifted_at.is_(None)).limit(1)


def needs_exams(project: Project) -> bool:
    """Whether telling the project's eligibility (or tiers) apart needs the expert's passed exams."""
    if (project.requirements or {}).get("exams"):
        return True
    return any((t.get("requirements") or {}).get("exams") for t in (project.tiers or {}).get("tiers") or [])


def requirement_problems(requirements: dict | None, expert: Expert, exams_passed: set[int]) -> list[str]:
    return unmet_requirements(
        Requirements.from_json(requirements), degree=Degree(expert.degree),
        domains=expert.domains or {}, languages=expert.languages or [],
        licenses=expert.licenses or [], status=ExpertStatus(expert.status),
        verified_domains=expert.verified_domains or {}, passed_exams=exams_passed)


def eligibility_problems(project: Project, expert: Expert, exams_passed: set[int] | None = None,
                         session: Session | None = None, *, pauses: dict[int, str] | None = None) -> list[str]:
    """Why an expert may not work on a project: requirements, or a pause from this project
    (looked up in ``pauses`` from :func:`active_pauses` when given, else queried)."""
    if exams_passed is None:
        exams_passed = passed_exams(session, expert.id) if session is not None and needs_exams(project) else set()
    problems = requirement_problems(project.requirements, expert, exams_passed)
    pause = None
    if pauses is not None:
        pause = pauses.get(project.id)
    elif session is not None:
        pause = session.execute(_pause_statement(), {"project_id": project.id,
                                                     "expert_id": expert.id}).scalar_one_or_none()
    if pause is not None:
        problems.append(f"paused from this project: {pause}")
    return problems


def active_pauses(session: Session, expert_id: int) -> dict[int, str]:
    """The projects an expert is paused from now, with the reason."""
    rows = session.execute(select(ProjectPause.project_id, ProjectPause.reason).where(
        ProjectPause.expert_id == expert_id, ProjectPause.lifted_at.is_(None)).order_by(ProjectPause.id))
    return {pid: reason for pid, reason in rows}


def expert_tiers(project: Project, expert: Expert, exams_passed: set[int]) -> list[str]:
    """Names of the project's tiers whose requirements this expert meets."""
    tiers = (project.tiers or {}).get("tiers") or []
    return [t["name"] for t in tiers if not requirement_problems(t["requirements"], expert, exams_passed)]


@reads
def get_project(session: Session, actor: Actor, project_id: int, *, with_progress: bool = True) -> dict:
    """The project as its reader may see it; ``with_progress=False`` leaves out the progress
    counts (a pass over the project's items and assignments) for pages that show none."""
    project = load_project(session, project_id)
    if not actor.is_staff:
        _require_eligible(session, actor, project)
    progress = progress_counts.one(session, project.id, utcnow()) if with_progress else None
    spent = repo.project_spent_cents(session, project.id) if actor.is_staff else None
    return project_view(project, staff=actor.is_staff, progress=progress, spent_cents=spent)


@reads
def list_projects(session: Session, actor: Actor) -> list[dict]:
    """Staff see every project; experts see the ones they qualify for. A constant number of
    queries however many projects there are (progress is counted per project in one go)."""
    projects = list(session.execute(select(Project).order_by(Project.id)).scalars())
    if not actor.is_staff:
        expert = session.get(Expert, actor.expert_id) if actor.expert_id else None
        if expert is None:
            return []
        exams = passed_exams(session, expert.id)
        pauses = active_pauses(session, expert.id)
        projects = [p for p in projects if takes_work(p.status)
                    and not eligibility_problems(p, expert, exams, pauses=pauses)]
    if not projects:
        return []
    progress = progress_counts.by_project(session, [p.id for p in projects], utcnow())
    return [project_view(p, staff=actor.is_staff, progress=progress[p.id]) for p in projects]


@reads
def project_names(session: Session, actor: Actor) -> list[dict]:
    """Every project's id and name (staff): for menus and labels, without counting progress."""
    require_staff(actor, "list projects")
    return [{"id": pid, "name": name} for pid, name in session.execute(
        select(Project.id, Project.name).order_by(Project.id))]


@reads
def project_for_expert(session: Session, actor: Actor, project_id: int) -> Project:
    """A project the calling expert qualifies for; any other is "not found" to them."""
    project = load_project(session, project_id)
    _require_eligible(session, actor, project)
    return project


def _require_eligible(session: Session, actor: Actor, project: Project) -> None:
    expert = session.get(Expert, actor.expert_id) if actor.expert_id else None
    if expert is None or eligibility_problems(project, expert, session=session):
        # Same answer as a missing project: trainers learn nothing about projects not for them.
        raise NotFound(f"project {project.id} not found")


@reads
def require_expert_eligible(session: Session, project: Project, expert: Expert) -> None:
    problems = eligibility_problems(project, expert, session=session)
    if problems:
        raise PermissionDenied(f"not eligible for project {project.id}: " + "; ".join(problems))
