"""The assignment state machine, as functions of (state, now).

    leased ──submit──▶ submitted ──review──▶ accepted | rejected
       │
       ├──release──▶ released      (the trainer skipped it; not offered to them again)
       └──(time)───▶ expired       (the slot is free again; may be offered to them again)

    leased (a blind re-test) ──submit──▶ retested   (compared with the first judgment; never counted)

A lease is *live* while ``now < lease_expires_at``. An expired lease that nobody else took may
still be submitted late: expiry frees the slot, it does not throw work away.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta


class AssignmentState(enum.StrEnum):
    leased = "leased"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    released = "released"
    expired = "expired"
    retested = "retested"


# States whose judgment counts toward an item's overlap.
DONE_STATES = (AssignmentState.submitted, AssignmentState.accepted)
# States that keep an item away from the same expert for good.
SEEN_STATES = (AssignmentState.submitted, AssignmentState.accepted, AssignmentState.rejected,
               AssignmentState.released)


def is_live(state: AssignmentState, lease_expires_at: datetime, now: datetime) -> bool:
    return state == AssignmentState.leased and now < lease_expires_at


def lease_expiry(now: datetime, lease_minutes: int) -> datetime:
    return now + timedelta(minutes=lease_minutes)


def add_active_time(active_seconds: float, last_seen_at: datetime, now: datetime,
                    idle_seconds: int) -> float:
    """Active time grows by the gap since the last sign of life, at most ``idle_seconds``.

    Heartbeats arrive every few tens of seconds while the task page is open; a longer gap means
    the trainer was away, and only the idle allowance of it is counted.
    """
    gap = max(0.0, (now - last_seen_at).total_seconds())
    return active_seconds + min(gap, float(idle_seconds))
