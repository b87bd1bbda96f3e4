"""Projects: task type, options, requirements, overlap, lease, time cap, pay and budget.

Also the eligibility rule: which experts may work on a project.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .checks import MAX_ID, Checker, join
from .experts import MAX_DOMAIN_LEVEL, Degree, ExpertStatus
from .modelwork import parse_candidates, parse_claims, parse_judge_first
from .money import parse_usd
from .people import ReviewSampling, parse_retest, parse_review_sampling
from .routing import (
    AdaptiveOverlapSpec,
    GoldPolicy,
    QualityFloor,
    Tier,
    parse_adaptive_overlap,
    parse_gold_policy,
    parse_quality_floor,
    parse_tiers,
)
from .tasks import TASK_TYPES, TaskType, task_type
from .tasks.base import Obj

__all__ = ["OPEN_ENDED", "PROJECT_FIELDS", "ProjectSpec", "Requirements", "TaskType", "check_options",
           "meets_requirements", "parse_project", "parse_terms", "unmet_requirements"]


# no categorical answers to build a consensus on
OPEN_ENDED = frozenset(TaskType(t) for t, spec in TASK_TYPES.items() if not spec.has_consensus)


@dataclass(frozen=True)
class Requirements:
    domains: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    min_degree: Degree = Degree.none
    licenses: tuple[str, ...] = ()
    # True: domain levels count only once a qualification exam has verified them.
    verified: bool = False
    # Exams (ids) an expert must have passed.
    exams: tuple[int, ...] = ()

    def to_json(self) -> Obj:
        return {"domains": dict(self.domains), "languages": list(self.languages),
                "min_degree": self.min_degree.name, "licenses": list(self.licenses),
                "verified": self.verified, "exams": list(self.exams)}

    @classmethod
    def from_json(cls, data: Obj | None) -> Requirements:
        data = data or {}
        return cls(domains=dict(data.get("domains") or {}),
                   languages=tuple(data.get("languages") or ()),
                   min_degree=Degree[data.get("min_degree") or "none"],
                   licenses=tuple(data.get("licenses") or ()),
                   verified=bool(data.get("verified", False)),
                   exams=tuple(data.get("exams") or ()))


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    task_type: TaskType
    guidelines: str = ""
    options: Obj = field(default_factory=dict)
    requirements: Requirements = field(default_factory=Requirements)
    overlap: int = 1
    lease_minutes: int = 30
    max_minutes_per_task: int = 20
    budget_usd: Decimal | None = None
    hourly_rate_usd: Decimal | None = None
    adaptive_overlap: AdaptiveOverlapSpec | None = None
    gold_policy: GoldPolicy | None = None
    quality_floor: QualityFloor | None = None
    tiers: list[Tier] | None = None
    escalation_tier: str | None = None
    terms: str | None = None
    review_sampling: ReviewSampling | None = None
    retest_rate: float = 0.0
    retest_after_hours: int = 24
    candidates: Obj | None = None
    judge_first: Obj | None = None
    claims: Obj | None = None

    def models_json(self) -> Obj | None:
        """The project's model settings as stored (None when it uses no models)."""
        out = {k: v for k, v in (("candidates", self.candidates), ("judge_first", self.judge_first),
                                 ("claims", self.claims)) if v}
        return out or None

    @property
    def starting_overlap(self) -> int:
        """Judgments a new item needs: the fixed overlap, or adaptive overlap's minimum."""
        return self.adaptive_overlap.min if self.adaptive_overlap else self.overlap


PROJECT_FIELDS = ("name", "task_type", "guidelines", "options", "requirements", "overlap",
                  "lease_minutes", "max_minutes_per_task", "budget_usd", "hourly_rate_usd",
                  "gold_rate", "quality_floor", "tiers", "escalation_tier", "terms",
                  "review_sampling", "retest_rate", "retest_after_hours", "candidates", "judge_first", "claims")
MAX_TERMS_CHARS = 50_000


def parse_project(data: Any) -> ProjectSpec:
    """Validate a project definition (YAML/JSON/API body); every bad field is reported."""
    c = Checker()
    obj = c.require_mapping(data, "project")
    c.no_unknown(obj, PROJECT_FIELDS, "")
    c.json(obj, "")
    name = c.text(obj, "name", "", max_len=200)
    task_type = None
    raw_type: Any = obj.get("task_type")
    try:
        task_type = TaskType(raw_type)
    except ValueError:
        c.fail("task_type", f"must be one of {', '.join(t.value for t in TaskType)}; got {raw_type!r}")
    guidelines = c.text(obj, "guidelines", "", required=False, allow_empty=True) or ""
    options = obj.get("options") or {}
    if not isinstance(options, dict):
        c.fail("options", "must be an object")
        options = {}
    elif task_type is not None:
        options = check_options(c, task_type, options)
    requirements = _parse_requirements(c, obj.get("requirements"))
    adaptive = parse_adaptive_overlap(c, obj.get("overlap"))
    if adaptive is not None:
        overlap = adaptive.max
    elif isinstance(obj.get("overlap"), dict):
        overlap = 1  # problems already recorded
    else:
        overlap = c.integer(obj, "overlap", "", lo=1, hi=50, required=False) or 1
    gold_policy = parse_gold_policy(c, obj.get("gold_rate"))
    quality_floor = parse_quality_floor(c, obj.get("quality_floor"))
    if quality_floor is not None and quality_floor.reliability is not None and task_type in OPEN_ENDED:
        c.fail("quality_floor.reliability", f"needs categorical answers to estimate reliability; "
                                            f"a {task_type.value} project can set gold_accuracy only")
    if quality_floor is not None and quality_floor.retest_agreement is not None and task_type in OPEN_ENDED:
        c.fail("quality_floor.retest_agreement", f"needs categorical answers to compare; a {task_type.value} "
                                                 "project cannot floor re-test agreement")
    tiers, escalation = parse_tiers(c, obj.get("tiers"), obj.get("escalation_tier"),
                                    lambda data, loc: _parse_requirements(c, data, loc))
    lease = c.integer(obj, "lease_minutes", "", lo=1, hi=24 * 60, required=False) or 30
    cap = c.integer(obj, "max_minutes_per_task", "", lo=1, hi=24 * 60, required=False) or 20
    budget = _usd(c, obj, "budget_usd")
    rate = _usd(c, obj, "hourly_rate_usd")
    terms = parse_terms(c, obj.get("terms"))
    sampling = parse_review_sampling(c, obj.get("review_sampling"))
    retest_rate, retest_after = parse_retest(c, obj.get("retest_rate"), obj.get("retest_after_hours"))
    candidates = parse_candidates(c, obj.get("candidates"), task_type)
    judge_first = parse_judge_first(c, obj.get("judge_first"), task_type)
    claims = parse_claims(c, obj.get("claims"), task_type)
    c.raise_if_any()
    assert name is not None and task_type is not None  # each recorded a problem otherwise
    return ProjectSpec(name=name.strip(), task_type=task_type, guidelines=guidelines,
                       options=options, requirements=requirements, overlap=overlap,
                       lease_minutes=lease, max_minutes_per_task=cap, budget_usd=budget,
                       hourly_rate_usd=rate, adaptive_overlap=adaptive, gold_policy=gold_policy,
                       quality_floor=quality_floor, tiers=tiers, escalation_tier=escalation, terms=terms,
                       review_sampling=sampling, retest_rate=retest_rate, retest_after_hours=retest_after,
                       candidates=candidates, judge_first=judge_first, claims=claims)


def parse_terms(c: Checker, value: Any, loc: str = "terms") -> str | None:
    """Consent terms: markdown every trainer must agree to before working; None for no terms."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        c.fail(loc, "must be non-empty text (markdown)")
        return None
    if len(value) > MAX_TERMS_CHARS:
        c.fail(loc, f"must be at most {MAX_TERMS_CHARS} characters")
        return None
    return value.strip()


def _usd(c: Checker, obj: Obj, key: str) -> Decimal | None:
    if obj.get(key) is None:
        return None
    try:
        return parse_usd(obj[key])
    except ValueError as exc:
        c.fail(key, str(exc))
        return None


def _parse_requirements(c: Checker, data: Any, loc: str = "requirements") -> Requirements:
    if data is None:
        return Requirements()
    if not isinstance(data, dict):
        c.fail(loc, "must be an object")
        return Requirements()
    c.no_unknown(data, ("domains", "languages", "min_degree", "licenses", "verified", "exams"), loc)
    domains = {}
    raw = data.get("domains") or {}
    if not isinstance(raw, dict):
        c.fail(join(loc, "domains"), "must be an object of domain -> minimum level")
    else:
        for dom, level in raw.items():
            lv = c.int_value(level, f"{loc}.domains.{dom}", lo=0, hi=MAX_DOMAIN_LEVEL)
            if lv is not None:
                domains[str(dom).strip().lower()] = lv
    languages = c.string_list(data, "languages", loc, required=False) or []
    licenses = c.string_list(data, "licenses", loc, required=False) or []
    degree = Degree.none
    if data.get("min_degree") is not None:
        try:
            degree = Degree.parse(str(data["min_degree"]).lower())
        except KeyError:
            c.fail(join(loc, "min_degree"), "must be one of none, bachelor, master, phd")
    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        c.fail(join(loc, "verified"), "must be true or false")
        verified = False
    exams = data.get("exams") or []
    if not isinstance(exams, list) or any(isinstance(e, bool) or not isinstance(e, int) or not 1 <= e <= MAX_ID
                                          for e in exams):
        c.fail(join(loc, "exams"), "must be a list of exam ids")
        exams = []
    return Requirements(domains=domains, languages=tuple(v.lower() for v in languages),
                        min_degree=degree, licenses=tuple(v.lower() for v in licenses),
                        verified=verified, exams=tuple(exams))


def check_options(c: Checker, t: str, options: Obj) -> Obj:
    """Options each task type understands (``TaskTypeSpec.check_options``); returns them normalised."""
    return task_type(t).check_options(c, options)


def meets_requirements(req: Requirements, **expert: Any) -> bool:
    """True when an expert may work on a project with these requirements."""
    return not unmet_requirements(req, **expert)


def unmet_requirements(req: Requirements, *, degree: Degree, domains: dict[str, int],
                       languages: Collection[str], licenses: Collection[str], status: ExpertStatus,
                       verified_domains: dict[str, int] | None = None,
                       passed_exams: set[int] | frozenset[int] = frozenset()) -> list[str]:
    """Human-readable reasons an expert is not eligible (empty when eligible)."""
    out = []
    if status != ExpertStatus.active:
        out.append(f"expert status is {status.value}, not active")
    if degree < req.min_degree:
        out.append(f"needs degree {req.min_degree.name} or higher (has {degree.name})")
    levels = (verified_domains or {}) if req.verified else domains
    kind = "verified " if req.verified else ""
    for dom, level in req.domains.items():
        if levels.get(dom, 0) < level:
            out.append(f"needs {kind}{dom} level {level} (has {levels.get(dom, 0)})")
    out += [f"needs to pass exam {e}" for e in req.exams if e not in passed_exams]
    out += [f"needs language {lang}" for lang in req.languages if lang not in languages]
    out += [f"needs licence {lic}" for lic in req.licenses if lic not in licenses]
    return out
