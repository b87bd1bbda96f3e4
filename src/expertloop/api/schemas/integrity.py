"""Response models of signed exports, revocations and authenticity checks."""

from __future__ import annotations

from typing import Any

from .common import View


class PublicKey(View):
    algorithm: str
    public_key: str
    fingerprint: str


class AuthenticityCheckOut(View):
    id: int
    assignment_id: int
    project_id: int
    expert_id: int
    status: str
    signals: dict[str, Any]
    similarity: dict[str, Any]
    reasons: list[dict[str, Any]]
    decided_by: str | None
    decided_at: str | None
    decision_note: str | None
    expert_reply: str | None
    replied_at: str | None
    created_at: str | None
    human_authenticated: bool
    expert_name: str | None = None
    project: str | None = None
    response: dict[str, Any] | None = None
