"""Response models for pay, assigned reviews, standing and disputes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import View
from .resources import ReviewDetail

CSV = {"text/csv": {"schema": {"type": "string"}, "example": "expert_id,name,...\n"}}


class PayPeriodOut(View):
    id: int
    name: str
    starts_on: str
    ends_on: str
    closed: bool
    closed_at: str | None


class PayEntryOut(View):
    id: int
    expert_id: int
    project_id: int | None
    kind: str = Field(description="bonus or adjustment")
    amount_usd: str = Field(description="Decimal dollars; an adjustment may be negative")
    reason: str
    created_at: str


class StatementLine(View):
    date: str
    kind: str = Field(description="earning, bonus or adjustment")
    project_id: int | None
    project_name: str | None
    item_id: int | None
    assignment_id: int | None
    active_minutes: str | None = Field(description="Minutes of active time worked on the task")
    cap_minutes: int | None = Field(description="The project's cap per task")
    paid_minutes: str
    capped: bool
    rate_usd: str | None = Field(description="Hourly rate the task was paid at")
    amount_usd: str
    reason: str | None


class StatementOut(View):
    expert_id: int
    expert_name: str
    hourly_rate_usd: str
    period: PayPeriodOut
    lines: list[StatementLine]
    tasks: int
    paid_minutes: str
    earnings_usd: str
    bonuses_usd: str
    adjustments_usd: str
    total_usd: str


class PayrollRow(View):
    expert_id: int
    name: str
    email: str
    tasks: int
    paid_minutes: str
    earnings_usd: str
    bonuses_usd: str
    adjustments_usd: str
    total_usd: str


class PayrollOut(View):
    period: PayPeriodOut
    rows: list[PayrollRow]
    total_usd: str


class ReviewTaskOut(ReviewDetail):
    review_task_id: int
    level: int = Field(description="1: a trainer's judgment; 2: a level-1 review")
    reason: str = Field(description="Why it was sampled: sampled, new or flagged")
    expert_name: str | None = None
    earlier_reviews: list[dict[str, Any]] | None = Field(None, description="Only once this review is submitted")
    verdict: str | None = None
    outcome: str | None = None


class HeldReview(View):
    review_task_id: int
    project_id: int


class ReviewProjectCount(View):
    project_id: int
    project_name: str
    waiting: int


class MyReviewQueue(View):
    held: HeldReview | None
    projects: list[ReviewProjectCount]
    waiting: int


class StandingOut(View):
    expert_id: int
    project_id: int
    project_name: str
    gold: dict[str, Any] = Field(description="Gold items answered: the answer and the score; the expected answer "
                                "only for staff or once the item is retired (out of the gold pool)")
    agreement_with_consensus: float | None
    reliability: float | None
    retest: dict[str, Any] | None = Field(description="Test–retest agreement with its 95% interval")
    flags: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    disputes: list[dict[str, Any]]


class DisputeOut(View):
    id: int
    project_id: int
    item_id: int
    assignment_id: int
    expert_id: int
    reason: str
    state: str = Field(description="open, upheld or rejected")
    decision_note: str | None
    created_at: str | None
    decided_at: str | None


class DisputeDecision(DisputeOut):
    rescored: list[dict[str, Any]] = Field(description="Each affected trainer's gold accuracy, recomputed")
