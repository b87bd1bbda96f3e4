"""Experts (trainers): credentials, skills, rate, status, and the validation of their records."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .checks import Checker, join
from .money import parse_usd


class Degree(enum.IntEnum):
    """Highest degree, ordered so requirements can say "at least master"."""

    none = 0
    bachelor = 1
    master = 2
    phd = 3

    @classmethod
    def parse(cls, value: str) -> Degree:
        return cls[value]


class ExpertStatus(enum.StrEnum):
    """Onboarding: applicant → qualified (passed an exam) → active; paused and offboarded."""

    applicant = "applicant"
    qualified = "qualified"
    active = "active"
    paused = "paused"
    offboarded = "offboarded"


MAX_DOMAIN_LEVEL = 5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class ExpertSpec:
    """A validated expert record, ready to store."""

    name: str
    email: str
    degree: Degree = Degree.none
    licenses: tuple[str, ...] = ()
    domains: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    hourly_rate_usd: Decimal = Decimal("0.00")
    country: str | None = None
    status: ExpertStatus = ExpertStatus.active


EXPERT_FIELDS = ("name", "email", "degree", "licenses", "domains", "languages",
                 "hourly_rate_usd", "country", "status")


def parse_expert(data: Any, loc: str = "", *, require_rate: bool = False) -> ExpertSpec:
    """Validate one expert record; raises ValidationFailed naming every bad field.

    ``require_rate``: a record without ``hourly_rate_usd`` is refused rather than paid $0.00/h
    (a roster file: a missing cell is a mistake, never a rate)."""
    c = Checker()
    obj = c.require_mapping(data, loc or "expert")
    c.no_unknown(obj, EXPERT_FIELDS, loc)
    c.json(obj, loc)
    name = c.text(obj, "name", loc, max_len=200)
    email = c.text(obj, "email", loc, max_len=320)
    if email is not None and not _EMAIL.match(email.strip()):
        c.fail(join(loc, "email"), f"is not an email address: {email!r}")
    degree = Degree.none
    if obj.get("degree") is not None:
        try:
            degree = Degree.parse(str(obj["degree"]).strip().lower())
        except KeyError:
            c.fail(join(loc, "degree"), f"must be one of none, bachelor, master, phd; got {obj['degree']!r}")
    licenses = _codes(c, obj, "licenses", loc)
    languages = _codes(c, obj, "languages", loc)
    domains: dict[str, int] = {}
    raw_domains = obj.get("domains") or {}
    if isinstance(raw_domains, str):  # CSV cells: "history:4;law:2"
        raw_domains = _domain_cell(c, raw_domains, join(loc, "domains"))
    if not isinstance(raw_domains, dict):
        c.fail(join(loc, "domains"), "must be an object of domain -> level 0..5")
    else:
        for dom, level in raw_domains.items():
            where = join(join(loc, "domains"), str(dom))
            if not isinstance(dom, str) or not _CODE.match(dom.strip().lower()):
                c.fail(where, "domain names are short lowercase words such as 'history'")
                continue
            lv = c.int_value(level, where, lo=0, hi=MAX_DOMAIN_LEVEL)
            if lv is not None:
                domains[dom.strip().lower()] = lv
    rate = Decimal("0.00")
    if obj.get("hourly_rate_usd") is None and require_rate:
        c.fail(join(loc, "hourly_rate_usd"), "is required: the expert's hourly rate in dollars, e.g. 120.00 "
                                             "(write 0 for unpaid work)")
    if obj.get("hourly_rate_usd") is not None:
        try:
            rate = parse_usd(obj["hourly_rate_usd"])
        except ValueError as exc:
            c.fail(join(loc, "hourly_rate_usd"), str(exc))
    country = obj.get("country")
    if country is not None and (not isinstance(country, str) or not 2 <= len(country.strip()) <= 56):
        c.fail(join(loc, "country"), "must be a country code or name")
    status = ExpertStatus.active
    if obj.get("status") is not None:
        try:
            status = ExpertStatus(obj["status"])
        except ValueError:
            c.fail(join(loc, "status"), f"must be one of {', '.join(s.value for s in ExpertStatus)}")
    c.raise_if_any()
    assert name is not None and email is not None  # each recorded a problem otherwise
    return ExpertSpec(
        name=name.strip(), email=email.strip().lower(), degree=degree,
        licenses=tuple(licenses), domains=domains, languages=tuple(languages),
        hourly_rate_usd=rate, country=country.strip() if isinstance(country, str) else None,
        status=status,
    )


def _codes(c: Checker, obj: dict[str, Any], key: str, loc: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):  # CSV cells: "en;fr" or "en, fr"
        value = [v for v in re.split(r"[;,|]", value) if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        c.fail(join(loc, key), "must be a list of short codes such as [\"en\", \"fr\"]")
        return []
    out: list[str] = []
    for v in value:
        code = v.strip().lower()
        if not _CODE.match(code):
            c.fail(join(loc, key), f"{v!r} is not a short code")
        elif code not in out:
            out.append(code)
    return out


def _domain_cell(c: Checker, cell: str, where: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in re.split(r"[;,|]", cell):
        if not part.strip():
            continue
        name, sep, level = part.partition(":")
        if not sep or not level.strip().isdecimal():
            c.fail(where, f"{part.strip()!r} is not domain:level (e.g. history:4)")
            continue
        out[name.strip()] = int(level)
    return out
