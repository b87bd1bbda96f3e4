"""Registering experts, one or a whole file at a time (all-or-nothing)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from ..domain.experts import ExpertSpec, parse_expert
from ..domain.money import to_cents
from ..domain.policies import Actor, can_read_expert, require_staff
from ..storage.orm import Expert
from .uow import reads, writes
from .views import expert_view


def _row(spec: ExpertSpec) -> Expert:
    return Expert(name=spec.name, email=spec.email, degree=int(spec.degree),
                  licenses=list(spec.licenses), domains=dict(spec.domains),
                  languages=list(spec.languages), hourly_rate_cents=to_cents(spec.hourly_rate_usd),
                  country=spec.country, status=spec.status.value)


@writes
def create_expert(session: Session, actor: Actor, data: dict) -> dict:
    require_staff(actor, "register experts")
    return import_experts(session, actor, [(None, data)])[0]


@writes
def import_experts(session: Session, actor: Actor, records: Sequence[tuple[int | None, dict]], *,
                   roster: bool = False) -> list[dict]:
    """Validate every record, then insert all or none. ``records`` pairs each with its line.

    ``roster`` (a file of experts): every record must give a rate, and records whose email is
    registered already are skipped, so a roster with new rows imports again like an item file
    (idempotent by email). Otherwise an email taken already is a conflict."""
    require_staff(actor, "register experts")
    specs: list[ExpertSpec] = []
    problems: list[Problem] = []
    seen: dict[str, int | None] = {}
    for line, data in records:
        where = f"line {line}" if line is not None else ""
        try:
            spec = parse_expert(data, require_rate=roster)
        except ValidationFailed as exc:
            problems += exc.prefixed(where).problems if where else exc.problems
            continue
        if spec.email in seen:
            problems.append(Problem(f"{where}: email" if where else "email",
                                    f"{spec.email} appears twice (also line {seen[spec.email]})"))
        seen[spec.email] = line
        specs.append(spec)
    if problems:
        raise ValidationFailed(problems)
    taken = set(session.execute(select(Expert.email).where(Expert.email.in_(list(seen)))).scalars())
    if taken and not roster:
        raise Conflict(f"an expert with email {', '.join(sorted(taken))} already exists; nothing was imported")
    rows = [_row(s) for s in specs if s.email not in taken]
    session.add_all(rows)
    session.flush()
    views = [expert_view(r) for r in rows]
    return views


@reads
def get_expert(session: Session, actor: Actor, expert_id: int) -> dict:
    if not can_read_expert(actor, expert_id):
        raise PermissionDenied("trainers may read only their own expert record")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    return expert_view(expert)


@reads
def list_experts(session: Session, actor: Actor) -> list[dict]:
    require_staff(actor, "list experts")
    return [expert_view(e) for e in session.execute(select(Expert).order_by(Expert.id)).scalars()]
