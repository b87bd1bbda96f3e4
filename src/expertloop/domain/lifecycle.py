"""A project's lifecycle: ``draft → live → paused → closed → archived``.

- **draft**: being set up (items, guidelines, terms); leases nothing and is shown to no trainer.
- **live**: trainers lease work.
- **paused**: leases nothing new; leases already held may still be submitted until they lapse.
- **closed**: the programme is over: leases nothing, and the live leases are released (the
  trainers holding them are told the project closed when they submit). Reviews and exports go on.
- **archived**: closed and put away: hidden from the overview's active list, read-only.

A paused project goes live again; a closed one can be reopened (live) until it is archived.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Conflict, ValidationFailed


class ProjectStatus(StrEnum):
    draft = "draft"
    live = "live"
    paused = "paused"
    closed = "closed"
    archived = "archived"


TRANSITIONS: dict[ProjectStatus, tuple[ProjectStatus, ...]] = {
    ProjectStatus.draft: (ProjectStatus.live, ProjectStatus.closed),
    ProjectStatus.live: (ProjectStatus.paused, ProjectStatus.closed),
    ProjectStatus.paused: (ProjectStatus.live, ProjectStatus.closed),
    ProjectStatus.closed: (ProjectStatus.live, ProjectStatus.archived),
    ProjectStatus.archived: (),
}

# What a move does to work in flight, in words (shown beside the buttons and in the answers).
EFFECTS: dict[ProjectStatus, str] = {
    ProjectStatus.live: "trainers can lease work",
    ProjectStatus.paused: "no new leases; leases already held may be submitted until they lapse",
    ProjectStatus.closed: "no new leases; live leases are released; reviews and exports go on",
    ProjectStatus.archived: "read-only record: no leases, no edits",
    ProjectStatus.draft: "nothing is leased until it goes live",
}

ACTION_LABELS: dict[ProjectStatus, str] = {
    ProjectStatus.live: "Go live", ProjectStatus.paused: "Pause", ProjectStatus.closed: "Close",
    ProjectStatus.archived: "Archive", ProjectStatus.draft: "Back to draft",
}


def parse_status(value: object, loc: str = "status") -> ProjectStatus:
    try:
        return ProjectStatus(str(value)) if isinstance(value, str) else ProjectStatus(value)  # type: ignore[arg-type]
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(s.value for s in ProjectStatus)}; got {value!r}",
                               loc=loc) from None


def check_transition(current: ProjectStatus, target: ProjectStatus) -> None:
    """Conflict unless ``current → target`` is a move of the lifecycle."""
    if target == current:
        raise Conflict(f"the project is already {current.value}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in TRANSITIONS[current]) or "nothing (it is final)"
        raise Conflict(f"a {current.value} project cannot become {target.value}; it can become {allowed}")


def takes_work(status: str) -> bool:
    return status == ProjectStatus.live.value
