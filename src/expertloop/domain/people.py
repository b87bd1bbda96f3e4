"""Rules about people's work: review sampling, blind re-tests and their agreement.

- **Review sampling**: a share of each trainer's submitted work goes to a level-1 reviewer —
  ``new_rate`` while the trainer has fewer than ``new_until`` judgments in the project,
  ``flagged_rate`` while they are flagged (paused by the quality floor, or with rejected work),
  ``rate`` otherwise — and a share ``level2_rate`` of level-1 reviews goes to a level-2 reviewer.
- **Blind re-tests**: with ``retest_rate`` a lease serves one of the trainer's own earlier items
  again (at least ``retest_after_hours`` later), unmarked, with its answers in a fresh order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .checks import Checker, join

MAX_RETEST_RATE = 0.5


@dataclass(frozen=True)
class ReviewSampling:
    rate: float = 0.1
    new_rate: float = 0.5
    new_until: int = 20
    flagged_rate: float = 1.0
    level2_rate: float = 0.1

    def rate_for(self, judged_before: int, flagged: bool) -> tuple[float, str]:
        """(share, reason): the highest share that applies to this trainer now."""
        options = [(self.rate, "sampled")]
        if judged_before < self.new_until:
            options.append((self.new_rate, "new"))
        if flagged:
            options.append((self.flagged_rate, "flagged"))
        return max(options, key=lambda o: o[0])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


SAMPLING_FIELDS = ("rate", "new_rate", "new_until", "flagged_rate", "level2_rate")


def _share(c: Checker, obj: dict[str, Any], key: str, loc: str, default: float, hi: float = 1.0) -> float | None:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= hi:
        c.fail(join(loc, key), f"must be a number between 0 and {hi}")
        return None
    return float(value)


def parse_review_sampling(c: Checker, value: Any, loc: str = "review_sampling") -> ReviewSampling | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail(loc, "must be an object {rate, new_rate, new_until, flagged_rate, level2_rate}")
        return None
    c.no_unknown(value, SAMPLING_FIELDS, loc)
    d = ReviewSampling()
    rate = _share(c, value, "rate", loc, d.rate)
    new_rate = _share(c, value, "new_rate", loc, d.new_rate)
    flagged = _share(c, value, "flagged_rate", loc, d.flagged_rate)
    level2 = _share(c, value, "level2_rate", loc, d.level2_rate)
    new_until = c.integer(value, "new_until", loc, lo=0, hi=1_000_000, required=False)
    if None in (rate, new_rate, flagged, level2):
        return None
    assert rate is not None and new_rate is not None and flagged is not None and level2 is not None
    return ReviewSampling(rate=rate, new_rate=new_rate, flagged_rate=flagged, level2_rate=level2,
                          new_until=d.new_until if new_until is None else new_until)


def parse_retest(c: Checker, rate: Any, after_hours: Any) -> tuple[float, int]:
    """``retest_rate`` (0 to 0.5) and ``retest_after_hours`` (0 to 8760, default 24)."""
    out_rate, out_after = 0.0, 24
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= MAX_RETEST_RATE:
            c.fail("retest_rate", f"must be a number between 0 and {MAX_RETEST_RATE}")
        else:
            out_rate = float(rate)
    if after_hours is not None:
        hours = c.int_value(after_hours, "retest_after_hours", lo=0, hi=8760)
        if hours is not None:
            out_after = hours
    return out_rate, out_after


def answers_agree(first: list[tuple[int, str]], second: list[tuple[int, str]]) -> float | None:
    """Share of the categorical parts two responses answer alike (None: nothing to compare)."""
    a, b = dict(first), dict(second)
    parts = sorted(set(a) | set(b))
    if not parts:
        return None
    return sum(1 for p in parts if a.get(p) == b.get(p)) / len(parts)
