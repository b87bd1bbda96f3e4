"""ORM tables: columns and relationships only; no logic, no commits.

Money is integer cents; times are UTC (stored naive, returned aware); JSON is JSONB on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# none_as_null: a Python None is SQL NULL (not the JSON text "null"), so "IS NULL" finds it.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(timezone.utc)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[type, UTCDateTime]] = {datetime: UTCDateTime()}


class Expert(Base):
    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    degree: Mapped[int] = mapped_column(Integer, default=0)
    licenses: Mapped[list] = mapped_column(JSONType, default=list)
    domains: Mapped[dict] = mapped_column(JSONType, default=dict)
    languages: Mapped[list] = mapped_column(JSONType, default=list)
    hourly_rate_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    country: Mapped[str | None] = mapped_column(String(56))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Domain levels a qualification exam has verified; self-declared ``domains`` stay unverified.
    verified_domains: Mapped[dict] = mapped_column(JSONType, default=dict)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Browser sessions signed in before this time have ended (tokens revoked in the console).
    sessions_revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[str] = mapped_column(String(20))
    guidelines: Mapped[str] = mapped_column(Text, default="")
    guidelines_version: Mapped[int] = mapped_column(Integer, default=1)
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    requirements: Mapped[dict] = mapped_column(JSONType, default=dict)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    lease_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_minutes_per_task: Mapped[int] = mapped_column(Integer, default=20)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    hourly_rate_cents: Mapped[int | None] = mapped_column(BigInteger)
    pseudonym_salt: Mapped[str] = mapped_column(String(64))
    # Routing policies (None = off): adaptive overlap, adaptive gold, quality floor, tiers.
    adaptive_overlap: Mapped[dict | None] = mapped_column(JSONType)
    gold_policy: Mapped[dict | None] = mapped_column(JSONType)
    quality_floor: Mapped[dict | None] = mapped_column(JSONType)
    tiers: Mapped[dict | None] = mapped_column(JSONType)  # {"tiers": [...], "escalation_tier"}
    # Consent terms (markdown); version 0 = no terms. Publishing new terms bumps the version.
    terms: Mapped[str | None] = mapped_column(Text)
    terms_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Review sampling (None = off): {"rate", "new_rate", "new_until", "flagged_rate", "level2_rate"}.
    review_sampling: Mapped[dict | None] = mapped_column(JSONType)
    # Blind re-tests: the share of leases that serve an expert's own earlier item again, and how
    # many hours after the first judgment at the earliest.
    retest_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    retest_after_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # Model settings: {"candidates": {...}, "judge_first": {...}} (None = no models).
    models: Mapped[dict | None] = mapped_column(JSONType)
    # draft -> live -> paused -> closed -> archived (domain.lifecycle); only live projects lease work.
    status: Mapped[str] = mapped_column(String(20), default="live", server_default="live")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id", name="uq_items_project_external_id"),
        Index("ix_items_queue", "project_id", "priority", "id"),
        # Covering: progress counts (items, complete, judgments needed) read it alone (migration 0013).
        # covers every column the progress counts read (repositories.progress_by_project)
        Index("ix_items_progress", "project_id", "done_count", "target_overlap", "retired_at", "generation"),
        Index("ix_items_generation", "project_id", "generation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSONType)
    gold: Mapped[dict | None] = mapped_column(JSONType)
    meta: Mapped[dict | None] = mapped_column("metadata", JSONType)
    # Judgments counted toward overlap (submitted or accepted); kept in step under the item's lock.
    done_count: Mapped[int] = mapped_column(Integer, default=0)
    # Judgments this item needs now: the project's overlap, or what adaptive overlap decided.
    target_overlap: Mapped[int] = mapped_column(Integer, default=1)
    confidence: Mapped[float | None] = mapped_column(Float)
    # Set when the next judgment must come from a named tier (escalation, cost-aware routing).
    required_tier: Mapped[str | None] = mapped_column(String(50))
    # "pending" while its candidate answers are being generated (target_overlap is 0 then, so
    # no one can lease it), "failed" when a model refused it; None for a complete item.
    generation: Mapped[str | None] = mapped_column(String(20))
    # A retired item is kept for the record, leased to nobody and left out of exports.
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_item_state", "item_id", "state", "lease_expires_at"),
        Index("ix_assignments_expert_item", "expert_id", "item_id"),
        # Covering: the project page's sums read this index alone (migration 0008).
        Index("ix_assignments_project_work", "project_id", "state", "expert_id", "submitted_at", "consent_id",
              "active_seconds"),
        # The review queue, oldest first: read in order and stopped at the page's length (0020).
        Index("ix_assignments_review_queue", "state", "submitted_at", "id"),
        # Live leases: the leased rows alone, a handful among millions (0020; the queries that
        # use it spell the state out, see repositories.live_lease_filter).
        Index("ix_assignments_leased", "project_id", "lease_expires_at", "item_id",
              sqlite_where=text("state = 'leased'"), postgresql_where=text("state = 'leased'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    state: Mapped[str] = mapped_column(String(20), default="leased")
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    guidelines_version: Mapped[int] = mapped_column(Integer, default=1)
    presentation: Mapped[dict | None] = mapped_column(JSONType)
    response: Mapped[dict | None] = mapped_column(JSONType)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    review_feedback: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("experts.id"))
    reviewed_at: Mapped[datetime | None]
    original_response: Mapped[dict | None] = mapped_column(JSONType)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))  # terms it was done under
    # The running experiment's arm when the lease was made (migration 0012); never recomputed.
    experiment_id: Mapped[int | None] = mapped_column(Integer)
    experiment_arm: Mapped[str | None] = mapped_column(String(60))
    # A blind re-test: the expert's earlier assignment on the same item (never counted, exported
    # or refitted; paid like any task).
    retest_of: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), index=True)
    # Work in progress the server keeps (a live chat's conversation), and what an AI suggestion
    # showed the trainer and what they did with it (migration 0010).
    draft: Mapped[dict | None] = mapped_column(JSONType, deferred=True)
    ai_assistance: Mapped[dict | None] = mapped_column(JSONType)


class ProjectSpend(Base):
    """A project's spend: the sum of its ledger's amounts, kept by database triggers on
    ``ledger_entries`` (migration 0013), so every writer of the ledger keeps it in step. Never
    written by the application."""

    __tablename__ = "project_spend"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    spent_cents: Mapped[int] = mapped_column(BigInteger)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_expert", "expert_id", "created_at"),
                      # Covering: spend per trainer and day, and the budget's sum (migration 0008).
                      Index("ix_ledger_project_pay", "project_id", "expert_id", "created_at", "amount_cents"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="earning")
    minutes: Mapped[str] = mapped_column(String(20), default="0")  # Decimal as text, exact
    rate_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerDay(Base):
    """One expert's ledger summed per UTC day and kind (entries, cents, minutes in hundredths),
    kept by database triggers on ``ledger_entries`` (migration 0021), like ``project_spend``: the
    payroll of a period sums these rows instead of every entry. Never written by the application."""

    __tablename__ = "ledger_days"
    __table_args__ = (Index("ix_ledger_days_day", "day", "expert_id"),)

    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    minutes_hundredths: Mapped[int] = mapped_column(BigInteger)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class GuidelineVersion(Base):
    """The text of each published version of a project's guidelines."""

    __tablename__ = "guideline_versions"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountLink(Base):
    """A single-use link: an invitation (``kind="invite"``) or a password reset (``"reset"``).
    Only a SHA-256 hash of the secret in the link is stored."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(20))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"))
    profile: Mapped[dict | None] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ResetRequest(Base):
    """One "forgot password" request, counted against its email and its client address (each a
    SHA-256 of ``email:…`` or ``client:…``), so the limit holds across workers and machines."""

    __tablename__ = "reset_requests"
    __table_args__ = (Index("ix_reset_requests_key", "key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceSecret(Base):
    """Random secrets of this installation (e.g. the key that signs web session cookies),
    kept in the database so every worker on every machine shares them."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Exam(Base):
    """A qualification exam: gold questions, a pass mark, a time limit and a retake cool-down."""

    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    task_type: Mapped[str] = mapped_column(String(20))
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    pass_mark: Mapped[float] = mapped_column(Float)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    retake_cooldown_hours: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExamQuestion(Base):
    __tablename__ = "exam_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSONType)
    gold: Mapped[dict] = mapped_column(JSONType)


class ExamAttempt(Base):
    __tablename__ = "exam_attempts"
    __table_args__ = (Index("ix_exam_attempts_expert", "expert_id", "exam_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    presentation: Mapped[dict | None] = mapped_column(JSONType)
    submitted_at: Mapped[datetime | None]
    answers: Mapped[dict | None] = mapped_column(JSONType)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectPause(Base):
    """An expert paused from one project (quality floor), until a manager lifts it."""

    __tablename__ = "project_pauses"
    __table_args__ = (Index("ix_project_pauses_project_expert", "project_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_at: Mapped[datetime | None]


class Notification(Base):
    """Something a manager should see: a paused trainer, an escalated item."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemEvent(Base):
    """The history of an item's routing: judged, decided done/more, escalated, tier chosen."""

    __tablename__ = "item_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """An expert's agreement to one version of a project's terms. Withdrawal is recorded here,
    never deleted; work done under a withdrawn consent leaves every later export. A row with no
    ``terms_version`` (and no ``agreed_at``) records a withdrawal nobody agreed to terms for: in a
    project without terms, or of work done before the expert agreed."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_project_expert", "project_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    terms_version: Mapped[int | None] = mapped_column(Integer)
    agreed_at: Mapped[datetime | None]  # set by the agreement; None when none was given
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(String(20))  # "expert" or the staff role


# Items nobody has judged and without gold: the forecast's count of what is left (0020; the
# query spells the condition out, repositories.UNJUDGED_NON_GOLD).
Index("ix_items_unjudged", Item.project_id, sqlite_where=text("done_count = 0 AND gold IS NULL"),
      postgresql_where=text("done_count = 0 AND gold IS NULL"))

# The claim's order over open items (see migration 0007 and repositories.next_candidate_item).
Index("ix_items_claim", Item.project_id, Item.priority.desc(), Item.id,
      postgresql_where=Item.done_count < Item.target_overlap, sqlite_where=Item.done_count < Item.target_overlap)


class Job(Base):
    """Work that must not run inside a request: claimed by a worker under a lease, retried with
    backoff, visible with its progress. ``dedupe_key`` is set while a debounced job is queued,
    so at most one such job per key waits (it is cleared when a worker claims the job)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "run_after"),
                      Index("ix_jobs_project", "project_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    payload: Mapped[dict | None] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until: Mapped[datetime | None]
    progress: Mapped[dict | None] = mapped_column(JSONType)
    result: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ConsensusFit(Base):
    """A project's latest Dawid–Skene fit, computed by a job and read by requests.

    ``trainer_model`` is small (classes, trainer ids, confusions, class prior, judgments per
    trainer): the submit path reads only it. ``item_posteriors`` holds the per-item labels and
    posteriors and the judgments the fit was made from (compressed numpy arrays).
    ``quality_report`` is no longer written: the report lives in ``quality_snapshots``."""

    __tablename__ = "consensus_fits"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(20))
    judgments: Mapped[int] = mapped_column(Integer)
    last_assignment_id: Mapped[int | None] = mapped_column(Integer)
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    trainer_model: Mapped[bytes] = mapped_column(LargeBinary)
    item_posteriors: Mapped[bytes] = mapped_column(LargeBinary)
    # Superseded by QualitySnapshot (migration 0018); kept so older databases need no rewrite.
    quality_report: Mapped[dict | None] = mapped_column(JSONType)


class QualitySnapshot(Base):
    """A project's quality report as a job last computed it (``refresh_quality``, or
    ``refit_consensus`` for projects with a consensus), and what it covered: the counted
    judgments, the newest of them and the latest review. Requests read it; none computes it."""

    __tablename__ = "quality_snapshots"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    report: Mapped[dict] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    judgments: Mapped[int] = mapped_column(Integer)
    last_assignment_id: Mapped[int | None] = mapped_column(Integer)
    last_reviewed_at: Mapped[datetime | None]


class ProgressSnapshot(Base):
    """The progress counts of a large project as the job runner last counted them
    (``services.progress``): pages read this copy instead of counting a million rows."""

    __tablename__ = "progress_snapshots"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    counts: Mapped[dict] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthenticityCheck(Base):
    """The authenticity evidence of one submitted judgment with free text: the writing-process
    aggregates the client recorded per field (never the keystrokes), the answer's similarity
    to the item's model outputs, why it was flagged, and the due process of a flag. ``status``:
    ``no_signals`` (nothing recorded, nothing flagged), ``clear``, ``flagged`` (awaiting staff),
    ``cleared`` (staff: the expert's own work) or ``upheld`` (staff: not the expert's own
    writing). Nothing here changes pay."""

    __tablename__ = "authenticity_checks"
    __table_args__ = (Index("ix_authenticity_project_status", "project_id", "status", "id"),
                      Index("ix_authenticity_expert", "expert_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    signals: Mapped[dict | None] = mapped_column(JSONType)
    similarity: Mapped[dict | None] = mapped_column(JSONType)
    reasons: Mapped[list | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    expert_reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)




class Experiment(Base):
    """Arms compared inside a project; ``unit`` is what is randomised: ``trainer`` or ``item``."""

    __tablename__ = "experiments"
    __table_args__ = (Index("ix_experiments_project", "project_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    arms: Mapped[list] = mapped_column(JSONType)  # [{"name", "kind", "config"}], the first is the control
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="running")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]


class ExperimentUnit(Base):
    """The arm a trainer or an item got, fixed the first time it was leased work."""

    __tablename__ = "experiment_units"
    __table_args__ = (UniqueConstraint("experiment_id", "unit_id", name="uq_experiment_units_unit"),
                      Index("ix_experiment_units_stratum", "experiment_id", "stratum"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)  # its place in the stratum's sequence
    arm: Mapped[str] = mapped_column(String(60))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
class PayPeriod(Base):
    """A pay period: ledger entries dated from ``starts_on`` to ``ends_on`` (inclusive, UTC
    dates). A closed period takes no more bonuses or adjustments."""

    __tablename__ = "pay_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewTask(Base):
    """One sampled review: a trainer's judgment (level 1) or a level-1 review (level 2), leased
    to one reviewer at a time under the project's lease rules. States: ``queued`` →
    ``leased`` → ``done`` (a lapsed lease is queued again when the next reviewer asks)."""

    __tablename__ = "review_tasks"
    __table_args__ = (Index("ix_review_tasks_queue", "state", "project_id", "id"),
                      UniqueConstraint("assignment_id", "level", name="uq_review_tasks_assignment_level"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(String(20), default="sampled")  # sampled | new | flagged
    state: Mapped[str] = mapped_column(String(20), default="queued")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"))
    leased_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    verdict: Mapped[str | None] = mapped_column(String(20))
    feedback: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GoldDispute(Base):
    """An expert's dispute of a gold answer, decided by staff. Upheld: the item's gold is
    corrected (the old answer is kept here) and every score that used it is computed again."""

    __tablename__ = "gold_disputes"
    __table_args__ = (Index("ix_gold_disputes_state", "state", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), unique=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | upheld | rejected
    old_gold: Mapped[dict | None] = mapped_column(JSONType)
    new_gold: Mapped[dict | None] = mapped_column(JSONType)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One staff action, appended and never changed: who (role, expert, token), what (a dotted
    action name), on which project and target, with a small JSON detail. The table has no
    foreign keys so that entries outlive what they name; triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_project", "project_id", "id"),
        Index("ix_audit_action", "action", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_expert_id: Mapped[int | None] = mapped_column(Integer)
    actor_token_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSONType)


class ModelEndpoint(Base):
    """An OpenAI-compatible chat-completions endpoint. ``api_key_env`` names the environment
    variable that holds the key, read at call time: the key itself is never stored."""

    __tablename__ = "model_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200))
    api_key_env: Mapped[str | None] = mapped_column(String(128))
    max_concurrency: Mapped[int] = mapped_column(Integer, default=4)
    timeout_s: Mapped[float] = mapped_column(Float, default=60.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelCall(Base):
    """One call to a model endpoint (after its retries): what for, its cost and its outcome."""

    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_endpoint", "endpoint_id", "id"),
                      Index("ix_model_calls_project", "project_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("model_endpoints.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    n: Mapped[int] = mapped_column(Integer, default=1)
    params: Mapped[dict | None] = mapped_column(JSONType)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20))  # ok | error
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelJudgment(Base):
    """A model's answer as a judge on one item in one order of presentation (``ab``: the
    item's responses as imported; ``ba``: swapped; ``-`` for one-shot types). ``answer`` is in
    the item's own terms (the imported index chosen, or the label); None when the reply could
    not be read. Kept apart from expert judgments: never in consensus, never paid."""

    __tablename__ = "model_judgments"
    __table_args__ = (UniqueConstraint("item_id", "model", "order", name="uq_model_judgments_item_model_order"),
                      Index("ix_model_judgments_project", "project_id", "model"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(64))
    order: Mapped[str] = mapped_column(String(8))
    answer: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    raw: Mapped[str | None] = mapped_column(Text)
    generation: Mapped[dict | None] = mapped_column(JSONType)
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AiSuggestion(Base):
    """A model's suggestion for one item (a draft answer, a pre-selected label or verdicts),
    generated ahead by a job and shown to the trainers who lease the item."""

    __tablename__ = "ai_suggestions"
    __table_args__ = (Index("ix_ai_suggestions_project", "project_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))          # draft | preselect
    model: Mapped[str] = mapped_column(String(200))        # the endpoint name
    content: Mapped[dict] = mapped_column(JSONType)        # {"completion": …} / {"label": …} / {"verdicts": […]}
    provenance: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
