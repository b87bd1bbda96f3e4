"""Pay arithmetic: minutes × hourly rate, capped per task, in Decimal cents."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .money import CENT

SIXTY = Decimal(60)


def billable_minutes(active_seconds: float, max_minutes_per_task: int) -> Decimal:
    """Active minutes to two decimals, never above the project's cap."""
    minutes = (Decimal(str(round(active_seconds, 3))) / SIXTY).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(minutes, Decimal(max_minutes_per_task).quantize(CENT))


def pay_for(minutes: Decimal, hourly_rate: Decimal) -> Decimal:
    return (minutes * hourly_rate / SIXTY).quantize(CENT, rounding=ROUND_HALF_UP)


def worst_case_lease_cost(max_minutes_per_task: int, hourly_rate: Decimal) -> Decimal:
    """What a live lease could still cost: the full time cap at the expert's rate."""
    return pay_for(Decimal(max_minutes_per_task), hourly_rate)


def reserved_for_lease(max_minutes_per_task: int, hourly_rate: Decimal) -> Decimal:
    """What the budget holds back for one live lease: its worst case. Pay for the task never
    exceeds it (see :func:`pay_within`), so the budget can never be overrun by a lease it let
    through — a lapsed lease, whose reservation was released, must be reserved again first."""
    return worst_case_lease_cost(max_minutes_per_task, hourly_rate)


def pay_within(minutes: Decimal, hourly_rate: Decimal, reserved: Decimal) -> Decimal:
    """Pay for ``minutes`` at ``hourly_rate``, never more than the lease's reservation."""
    return min(pay_for(minutes, hourly_rate), reserved)
