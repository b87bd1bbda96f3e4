"""Who may do what: access policies as plain functions of (actor, resource).

Roles, most to least powerful: admin, manager, reviewer, trainer. Trainers (and reviewers
working as trainers) act as the expert their token is bound to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import PermissionDenied


class Role(enum.StrEnum):
    admin = "admin"
    manager = "manager"
    reviewer = "reviewer"
    trainer = "trainer"


@dataclass(frozen=True)
class Actor:
    role: Role
    expert_id: int | None = None
    token_id: int | None = None

    @property
    def is_staff(self) -> bool:
        """Admins and managers run programmes: experts, projects, items, exports."""
        return self.role in (Role.admin, Role.manager)


def require_staff(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise PermissionDenied(f"only admins and managers may {what}")


def require_admin(actor: Actor, what: str) -> None:
    if actor.role != Role.admin:
        raise PermissionDenied(f"only admins may {what}")


def can_read_expert(actor: Actor, expert_id: int) -> bool:
    return actor.is_staff or actor.expert_id == expert_id


def can_see_assignment(actor: Actor, assignment_expert_id: int) -> bool:
    return actor.is_staff or actor.expert_id == assignment_expert_id


def can_work_on(actor: Actor, assignment_expert_id: int) -> bool:
    """Only the expert holding an assignment may heartbeat, release or submit it."""
    return actor.expert_id is not None and actor.expert_id == assignment_expert_id


def require_expert(actor: Actor) -> int:
    if actor.expert_id is None:
        raise PermissionDenied("this token is not bound to an expert; create one with --expert ID")
    return actor.expert_id


def can_grant(actor: Actor, role: Role) -> bool:
    """Admins grant any role; managers grant reviewer and trainer tokens."""
    if actor.role == Role.admin:
        return True
    return actor.role == Role.manager and role in (Role.reviewer, Role.trainer)
