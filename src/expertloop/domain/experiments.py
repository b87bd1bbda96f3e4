"""Experiments inside a project: what is compared (arms) and what is randomised (the unit).

An experiment has two to six arms; the first is the control every other arm is compared with.
Each arm has a ``kind`` and a ``config``:

* ``guidelines``: ``guidelines`` (markdown) and ``version`` (int): the guidelines the trainer
  is shown; the assignment records that version.
* ``page_variant``: ``variant``: recorded in the assignment's presentation (``page_variant``).
* ``pay``: ``hourly_rate_usd`` (a decimal string): the rate the judgment is paid at.
* ``pool``: ``min_degree``, ``tier`` (a project tier), ``domain`` + ``min_level``: which
  trainers belong to the arm.
* ``ai_assistance``: ``enabled``: reserved, refused until model assistance is in the loop.

``unit`` is ``item`` (each item randomised to one arm, stratified by the item's ``domain``
metadata) or ``trainer`` (each trainer randomised to one arm, in one stratum). ``pool`` arms
compare groups of trainers, which cannot be assigned at random: they need ``unit: trainer`` and
every trainer joins the first pool arm they qualify for (an observational comparison on the same
items, which the report says).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .checks import Checker, join
from .errors import ValidationFailed

MAX_ARMS = 6
ARM_NAME_MAX = 60
NAME_MAX = 200
GUIDELINES_MAX = 100_000
DEGREES = ("none", "bachelor", "master", "phd")


class ArmKind(enum.StrEnum):
    guidelines = "guidelines"
    page_variant = "page_variant"
    pay = "pay"
    pool = "pool"
    ai_assistance = "ai_assistance"


class Unit(enum.StrEnum):
    item = "item"
    trainer = "trainer"


@dataclass(frozen=True)
class Arm:
    name: str
    kind: ArmKind
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind.value, "config": self.config}


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    unit: Unit
    arms: tuple[Arm, ...]


def parse_experiment(data: Any, *, tiers: tuple[str, ...] = ()) -> ExperimentSpec:
    """Validate an experiment definition; every problem is reported at once, with its place."""
    c = Checker()
    obj = c.require_mapping(data, "")
    c.no_unknown(obj, ("name", "unit", "arms"), "")
    name = c.text(obj, "name", "", max_len=NAME_MAX)
    unit_raw = obj.get("unit", "item")
    unit = None
    if not isinstance(unit_raw, str) or unit_raw not in {u.value for u in Unit}:
        c.fail("unit", f"must be one of: item, trainer; got {unit_raw!r}")
    else:
        unit = Unit(unit_raw)
    arms_raw = obj.get("arms")
    arms: list[Arm] = []
    if not isinstance(arms_raw, list) or not 2 <= len(arms_raw) <= MAX_ARMS:
        c.fail("arms", f"must be a list of 2 to {MAX_ARMS} arms")
    if not isinstance(arms_raw, list):
        arms_raw = []
    arms_raw = arms_raw[:MAX_ARMS + 1]  # a long list is refused above; its head is still checked
    seen: set[str] = set()
    for i, raw in enumerate(arms_raw):
        loc = join("arms", i)
        arm = c.mapping(raw, loc)
        if arm is None:
            continue
        c.no_unknown(arm, ("name", "kind", "config"), loc)
        arm_name = c.text(arm, "name", loc, max_len=ARM_NAME_MAX)
        if arm_name is not None:
            arm_name = arm_name.strip()
            if arm_name in seen:
                c.fail(join(loc, "name"), f"{arm_name!r} names two arms")
            seen.add(arm_name)
        kind_raw = arm.get("kind")
        if not isinstance(kind_raw, str) or kind_raw not in {k.value for k in ArmKind}:
            c.fail(join(loc, "kind"), f"must be one of: {', '.join(k.value for k in ArmKind)}; got {kind_raw!r}")
            continue
        kind = ArmKind(kind_raw)
        config = arm.get("config", {})
        if not isinstance(config, dict):
            c.fail(join(loc, "config"), "must be an object")
            continue
        clean = _config(c, kind, config, join(loc, "config"), tiers)
        if arm_name is not None and clean is not None:
            arms.append(Arm(arm_name, kind, clean))
    kinds = {a.kind for a in arms}
    if ArmKind.pool in kinds and unit is Unit.item:
        c.fail("unit", "pool arms compare groups of trainers: use unit: trainer")
    if ArmKind.pool in kinds and kinds != {ArmKind.pool}:
        c.fail("arms", "pool arms cannot be mixed with other kinds of arm")
    c.raise_if_any()
    assert name is not None and unit is not None
    return ExperimentSpec(name.strip(), unit, tuple(arms))


def _config(c: Checker, kind: ArmKind, config: dict[str, Any], loc: str,
            tiers: tuple[str, ...]) -> dict[str, Any] | None:
    before = len(c.problems)
    out: dict[str, Any] = {}
    if kind is ArmKind.guidelines:
        c.no_unknown(config, ("guidelines", "version"), loc)
        out["guidelines"] = c.text(config, "guidelines", loc, max_len=GUIDELINES_MAX)
        out["version"] = c.integer(config, "version", loc, lo=1, hi=1_000_000)
    elif kind is ArmKind.page_variant:
        c.no_unknown(config, ("variant",), loc)
        out["variant"] = c.text(config, "variant", loc, max_len=ARM_NAME_MAX)
    elif kind is ArmKind.pay:
        c.no_unknown(config, ("hourly_rate_usd",), loc)
        raw = config.get("hourly_rate_usd")
        # money is typed by a person: a string or an integer, never a float we would have to guess
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            c.fail(join(loc, "hourly_rate_usd"), "must be a decimal string such as \"45.00\"")
        else:
            try:
                rate = Decimal(str(raw))
            except InvalidOperation:
                rate = Decimal(-1)
            if not rate.is_finite() or rate < 0 or rate > 10_000 or rate != rate.quantize(Decimal("0.01")):
                c.fail(join(loc, "hourly_rate_usd"), f"must be dollars and cents between 0 and 10000, got {raw!r}")
            else:
                out["hourly_rate_usd"] = str(rate.quantize(Decimal("0.01")))
    elif kind is ArmKind.pool:
        c.no_unknown(config, ("min_degree", "tier", "domain", "min_level"), loc)
        if "min_degree" in config:
            if config["min_degree"] not in DEGREES:
                c.fail(join(loc, "min_degree"), f"must be one of: {', '.join(DEGREES)}")
            else:
                out["min_degree"] = config["min_degree"]
        if "tier" in config:
            if config["tier"] not in tiers:
                c.fail(join(loc, "tier"), f"must be one of the project's tiers ({', '.join(tiers) or 'none'})")
            else:
                out["tier"] = config["tier"]
        if "domain" in config or "min_level" in config:
            out["domain"] = c.text(config, "domain", loc, max_len=40)
            out["min_level"] = c.integer(config, "min_level", loc, lo=0, hi=5)
    else:
        c.fail(loc, "AI assistance arms are reserved until models are in the loop")
    return None if len(c.problems) > before else out


def require_running(status: str, experiment_id: int) -> None:
    if status != "running":
        raise ValidationFailed(f"experiment {experiment_id} is {status}")
