"""Routing policies of a project: adaptive overlap, adaptive gold, a quality floor and tiers.

Each is optional and parsed from the project definition:

- ``overlap: {"min": 1, "max": 5, "target_confidence": 0.95}`` — after each judgment the item's
  posterior decides whether it is finished or needs another; items in doubt are served first.
- ``gold_rate: {"start": 0.2, "floor": 0.05, "evidence": 20}`` — gold items are mixed into a
  trainer's queue at ``start`` while the trainer has answered fewer than ``evidence`` gold items
  in the project, then at ``floor`` (linear in between).
- ``quality_floor: {"gold_accuracy": 0.7, "min_gold": 10, "reliability": 0.6, "min_judgments": 20}``
  (either measure, or both) — a trainer whose gold accuracy, after at least ``min_gold`` gold
  answers, or whose estimated reliability (accuracy from the project's Dawid–Skene consensus),
  after at least ``min_judgments`` judged items, is below the floor with 95% confidence
  (Wilson upper bound below it) is paused from the project.
- ``tiers: [{"name", "requirements", "hourly_rate_usd"}, ...]`` junior to senior, with
  ``escalation_tier`` (default: the last) — who gets items that stay in doubt, and the rate card
  used for cost-aware routing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from .checks import Checker, join
from .money import parse_usd
from .tasks.base import Obj


@dataclass(frozen=True)
class AdaptiveOverlapSpec:
    min: int
    max: int
    target_confidence: float

    def to_json(self) -> Obj:
        return {"min": self.min, "max": self.max, "target_confidence": self.target_confidence}


@dataclass(frozen=True)
class GoldPolicy:
    start: float = 0.2
    floor: float = 0.05
    evidence: int = 20

    def rate(self, gold_answered: int) -> float:
        """Share of leases that are gold, falling as evidence about the trainer grows."""
        if gold_answered >= self.evidence:
            return self.floor
        return self.start + (self.floor - self.start) * gold_answered / self.evidence

    def to_json(self) -> Obj:
        return {"start": self.start, "floor": self.floor, "evidence": self.evidence}


@dataclass(frozen=True)
class QualityFloor:
    gold_accuracy: float | None = None
    min_gold: int = 10
    reliability: float | None = None
    min_judgments: int = 20
    # Test–retest agreement (blind re-tests, see domain/people.py) and the re-tests it needs.
    retest_agreement: float | None = None
    min_retests: int = 5

    def to_json(self) -> Obj:
        out: Obj = {"gold_accuracy": self.gold_accuracy, "min_gold": self.min_gold,
                    "reliability": self.reliability, "min_judgments": self.min_judgments}
        if self.retest_agreement is not None:
            out.update(retest_agreement=self.retest_agreement, min_retests=self.min_retests)
        return out


@dataclass(frozen=True)
class Tier:
    name: str
    requirements: Obj
    hourly_rate_usd: Decimal | None

    def to_json(self) -> Obj:
        return {"name": self.name, "requirements": self.requirements,
                "hourly_rate_usd": None if self.hourly_rate_usd is None else str(self.hourly_rate_usd)}


def _fraction(c: Checker, obj: Obj, key: str, loc: str, default: float | None = None,
              *, lo: float = 0.0, hi: float = 1.0) -> float | None:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        c.fail(join(loc, key), f"must be a number between {lo} and {hi}")
        return None
    return float(value)


def parse_adaptive_overlap(c: Checker, value: Any) -> AdaptiveOverlapSpec | None:
    if not isinstance(value, dict):
        return None
    c.no_unknown(value, ("min", "max", "target_confidence"), "overlap")
    lo = c.integer(value, "min", "overlap", lo=1, hi=50, required=False) or 1
    hi = c.integer(value, "max", "overlap", lo=1, hi=50)
    conf = _fraction(c, value, "target_confidence", "overlap", 0.95, lo=0.5, hi=0.9999)
    if hi is not None and hi < lo:
        c.fail("overlap.max", f"must be at least min ({lo})")
    if hi is None or conf is None:
        return None
    return AdaptiveOverlapSpec(min=lo, max=hi, target_confidence=conf)


def parse_gold_policy(c: Checker, value: Any) -> GoldPolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail("gold_rate", "must be an object {start, floor, evidence}")
        return None
    c.no_unknown(value, ("start", "floor", "evidence"), "gold_rate")
    start = _fraction(c, value, "start", "gold_rate", 0.2)
    floor = _fraction(c, value, "floor", "gold_rate", 0.05)
    evidence = c.integer(value, "evidence", "gold_rate", lo=1, hi=10_000, required=False) or 20
    if start is None or floor is None:
        return None
    return GoldPolicy(start=start, floor=floor, evidence=evidence)


def parse_quality_floor(c: Checker, value: Any) -> QualityFloor | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail("quality_floor", "must be an object {gold_accuracy, min_gold, reliability, min_judgments, "
                                "retest_agreement, min_retests}")
        return None
    c.no_unknown(value, ("gold_accuracy", "min_gold", "reliability", "min_judgments", "retest_agreement",
                         "min_retests"), "quality_floor")
    if "gold_accuracy" not in value and "reliability" not in value and "retest_agreement" not in value:
        c.fail("quality_floor", "needs gold_accuracy, reliability, retest_agreement or several")
        return None
    acc = _fraction(c, value, "gold_accuracy", "quality_floor") if "gold_accuracy" in value else None
    rel = _fraction(c, value, "reliability", "quality_floor") if "reliability" in value else None
    n_gold = c.integer(value, "min_gold", "quality_floor", lo=1, hi=10_000, required=False) or 10
    n_judged = c.integer(value, "min_judgments", "quality_floor", lo=1, hi=100_000, required=False) or 20
    retest = _fraction(c, value, "retest_agreement", "quality_floor") if "retest_agreement" in value else None
    n_retests = c.integer(value, "min_retests", "quality_floor", lo=1, hi=10_000, required=False) or 5
    if acc is None and rel is None and retest is None:
        return None
    return QualityFloor(gold_accuracy=acc, min_gold=n_gold, reliability=rel, min_judgments=n_judged,
                        retest_agreement=retest, min_retests=n_retests)


class _Requirements(Protocol):
    def to_json(self) -> Obj: ...


def parse_tiers(c: Checker, value: Any, escalation: Any,
                parse_requirements: Callable[[Any, str], _Requirements]) -> tuple[list[Tier] | None, str | None]:
    if value is None:
        if escalation is not None:
            c.fail("escalation_tier", "needs tiers")
        return None, None
    if not isinstance(value, list) or not value:
        c.fail("tiers", "must be a non-empty list of {name, requirements, hourly_rate_usd}")
        return None, None
    tiers = []
    for i, tier in enumerate(value):
        loc = f"tiers[{i}]"
        if not isinstance(tier, dict):
            c.fail(loc, "must be an object")
            continue
        c.no_unknown(tier, ("name", "requirements", "hourly_rate_usd"), loc)
        name = c.text(tier, "name", loc, max_len=50)
        req = parse_requirements(tier.get("requirements"), join(loc, "requirements"))
        rate = None
        if tier.get("hourly_rate_usd") is not None:
            try:
                rate = parse_usd(tier["hourly_rate_usd"])
            except ValueError as exc:
                c.fail(join(loc, "hourly_rate_usd"), str(exc))
        if name:
            tiers.append(Tier(name=name, requirements=req.to_json(), hourly_rate_usd=rate))
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        c.fail("tiers", "tier names must be unique")
    if escalation is None:
        escalation = names[-1] if names else None
    elif escalation not in names:
        c.fail("escalation_tier", f"must name one of the tiers: {', '.join(names)}")
    return tiers, escalation
