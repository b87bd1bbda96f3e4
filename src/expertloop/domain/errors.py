"""The one error hierarchy of expertloop.

Every failure a user can cause is one of these; transports map them to their medium in one
place (``api/errors.py`` for HTTP, ``cli/main.py`` for the terminal):

- :class:`NotFound` (404) — the thing named does not exist, or the caller may not know it does.
- :class:`Unauthenticated` (401) — no or unknown credentials.
- :class:`PermissionDenied` (403) — known caller, not allowed.
- :class:`ValidationFailed` (422) — input does not fit; ``errors`` lists each problem with its
  location (field path, or line number for files).
- :class:`Conflict` (409) — the request clashes with the current state (an expired lease, a
  submitted assignment, an exhausted budget, a duplicate external id).
"""

from __future__ import annotations

from dataclasses import dataclass


class ExpertloopError(Exception):
    """Base of every error a user can provoke."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ExpertloopError):
    status_code = 404


class Unauthenticated(ExpertloopError):
    status_code = 401


class PermissionDenied(ExpertloopError):
    status_code = 403


class Conflict(ExpertloopError):
    status_code = 409


class LeaseExpired(Conflict):
    """A submit or heartbeat arrived after the lease ran out and its slot was taken."""


class BudgetExhausted(Conflict):
    """Earned plus leased worst case has reached the project's budget."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (``loc``) and what (``msg``)."""

    loc: str
    msg: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.msg}" if self.loc else self.msg


class ValidationFailed(ExpertloopError):
    """Input that does not fit; carries every problem found, each with its location."""

    status_code = 422

    def __init__(self, problems: list[Problem] | Problem | str, *, loc: str = ""):
        if isinstance(problems, str):
            problems = [Problem(loc, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = len(self.problems) - 10
        if more > 0:
            shown += f"; … and {more} more"
        super().__init__(shown)

    def prefixed(self, prefix: str) -> ValidationFailed:
        """The same problems, each located under ``prefix`` (e.g. ``line 12``)."""
        return ValidationFailed(
            [Problem(f"{prefix}: {p.loc}" if p.loc else prefix, p.msg) for p in self.problems]
        )
