"""Response models for invitations."""

from __future__ import annotations

from pydantic import Field

from .common import View


class InvitationOut(View):
    """An invitation link, without its secret."""

    id: int
    kind: str = Field(description="invite")
    email: str
    role: str | None = Field(description="trainer or reviewer")
    name: str | None
    created_by: str | None
    created_at: str | None
    expires_at: str | None
    used_at: str | None
    state: str = Field(description="pending, used or expired (a revoked invitation is expired)")


class InvitationIssued(InvitationOut):
    secret: str = Field(description="The link's secret, shown only this once")
    path: str = Field(description="The sign-up page for the link: /join/{secret} on the console")
