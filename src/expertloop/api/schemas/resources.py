"""Response models of the API's resources, matching what the services return."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import View


class Health(View):
    status: str
    database: str


class Me(View):
    role: str
    expert_id: int | None


class ExpertOut(View):
    id: int
    name: str
    email: str
    degree: str
    licenses: list[str]
    domains: dict[str, int]
    languages: list[str]
    hourly_rate_usd: str | None = Field(description="Decimal dollars as a string, e.g. \"120.00\"")
    country: str | None
    status: str
    verified_domains: dict[str, Any]
    created_at: str | None


class WeekEarning(View):
    week: str
    amount_usd: str


class ProjectEarning(View):
    project_id: int | None
    amount_usd: str
    minutes: str
    tasks: int


class Earnings(View):
    expert_id: int
    total_usd: str
    minutes: str
    tasks: int
    by_project: list[ProjectEarning]
    by_week: list[WeekEarning]


class ProjectOut(View):
    id: int
    name: str
    task_type: str
    guidelines: str | None
    guidelines_version: int
    options: dict[str, Any] | None
    requirements: dict[str, Any] | None
    overlap: int
    lease_minutes: int
    max_minutes_per_task: int
    terms_version: int
    status: str = Field("live", description="draft, live, paused, closed or archived; only live projects lease work")
    created_at: str | None
    budget_usd: str | None = Field(None, description="Staff only")
    spent_usd: str | None = Field(None, description="Staff only")
    progress: dict[str, Any] | None = None


class ImportResult(View):
    project_id: int
    imported: int
    skipped_existing: int
    with_gold: int


class AssignmentOut(View):
    assignment_id: int
    project_id: int
    task_type: str
    state: str
    expert_id: int
    item: dict[str, Any] = Field(description="The item as the trainer sees it (gold and metadata for staff only)")
    leased_at: str | None
    lease_expires_at: str | None
    submitted_at: str | None
    active_seconds: float
    guidelines_version: int
    response: Any = None
    review_feedback: str | None = None


class Submitted(AssignmentOut):
    earned_usd: str | None = None
    minutes: str | None = None


class Heartbeat(View):
    assignment_id: int
    lease_expires_at: str
    active_seconds: float


class Released(View):
    assignment_id: int
    state: str


class QueueEntry(View):
    assignment_id: int
    project_id: int
    project_name: str
    task_type: str
    item_id: int
    expert_id: int
    expert_name: str | None = None
    submitted_at: str | None
    active_seconds: float


class ReviewDetail(AssignmentOut):
    project: dict[str, Any] | None = None


class ExamOut(View):
    id: int
    name: str
    domain: str
    level: int
    task_type: str
    options: dict[str, Any] | None
    pass_mark: float
    time_limit_minutes: int
    retake_cooldown_hours: int
    project_id: int | None
    questions: int


class Attempt(View):
    attempt_id: int
    exam_id: int
    deadline: str | None
    seconds_left: int
    submitted_at: str | None
    score: float | None
    passed: bool | None
    questions: list[dict[str, Any]]


class CertificateOut(View):
    id: int
    expert_id: int
    exam_id: int
    domain: str
    level: int
    score: float
    issued_at: str | None


class AttemptResult(View):
    attempt_id: int
    exam_id: int
    score: float
    passed: bool
    pass_mark: float
    certificate: CertificateOut | None
    retake_allowed_at: str | None


class PauseOut(View):
    id: int
    project_id: int
    expert_id: int
    expert_name: str | None
    reason: str | None
    created_at: str | None
    lifted_at: str | None


class NotificationOut(View):
    id: int
    kind: str
    project_id: int | None
    expert_id: int | None
    item_id: int | None
    message: str | None
    created_at: str | None


class ItemEventOut(View):
    kind: str
    detail: Any = None
    at: str | None


class ItemHistory(View):
    item_id: int
    project_id: int
    external_id: str | None
    judgments: int
    target_overlap: int
    confidence: float | None
    required_tier: str | None
    events: list[ItemEventOut]


class ConsentOut(View):
    id: int
    project_id: int
    expert_id: int
    terms_version: int | None = Field(description="None for a withdrawal recorded without terms")
    agreed_at: str | None
    withdrawn_at: str | None
    withdrawal_reason: str | None
    withdrawn_by: str | None
    recorded_without_terms: bool = False


class MyTerms(View):
    project_id: int
    project: str
    terms: str | None
    terms_version: int
    consent: ConsentOut | None
    current: bool


class Withdrawal(View):
    project_id: int
    expert_id: int | None
    withdrawn: list[ConsentOut]
    released_leases: int
    contributions_removed: int


class Terms(View):
    project_id: int
    terms: str | None
    terms_version: int


class QualityReport(View):
    """The project's quality report as its job last computed it (a stored snapshot; no request
    computes it). ``status`` says whether it is there: ``ready`` (agreement, consensus,
    scorecards, flags, judges follow; which depends on the task type) or ``computing`` (no
    snapshot yet: the job is queued; ask again)."""

    project_id: int
    task_type: str
    status: str = Field(description="`ready`: the report follows; `computing`: the first one is being computed "
                                    "and only these fields are present")
    computed_at: str | None = Field(description="When the snapshot was computed, or last found to cover every "
                                                "judgment (ISO 8601, UTC); null while computing")
    refreshing: bool = Field(description="A job that will replace this snapshot is queued or running")
    job_id: int | None = Field(description="That job (`GET /jobs/{id}`), or null")


class QualityRefresh(View):
    """A queued recomputation of a project's quality report."""

    project_id: int
    job_id: int | None = Field(description="The queued job (`GET /jobs/{id}`); a job already waiting is reused")
    kind: str = Field(description="`refit_consensus` (projects with a consensus) or `refresh_quality`")


class TokenIssued(View):
    token: str = Field(description="The bearer token, shown only this once")
    id: int | None = None
    role: str
    expert_id: int | None


class TokenOut(View):
    id: int
    role: str
    expert_id: int | None
    label: str | None
    created_at: str | None
    revoked_at: str | None


class JobOut(View):
    """Work run outside requests (consensus refits): its state and what it did."""

    id: int
    kind: str
    project_id: int | None
    state: str = Field(description="queued, running, done or failed")
    attempts: int
    max_attempts: int
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    created_at: str | None
    run_after: str | None
    started_at: str | None
    finished_at: str | None
    locked_until: str | None


class ExportOut(View):
    """An export run as a job: its progress, and a download link once the file is written."""

    id: int
    project_id: int | None
    state: str = Field(description="queued, running, done or failed")
    format: str | None
    file_type: str | None = Field(description="jsonl or parquet; zip for a signed export")
    signed: bool = Field(False, description="a signed export: the data and its signed manifest.json, as a ZIP")
    consensus: bool
    min_judgments: int | None
    min_confidence: float | None
    judge_settled: bool = Field(False, description="whether items a judge settled alone are included")
    records: int | None = Field(description="records written so far (running) or in all (done)")
    left_out: dict[str, int] | None
    summary: str | None
    bytes: int | None
    file_name: str | None
    error: str | None
    created_at: str | None
    finished_at: str | None
    download_url: str | None = Field(description="where to GET the file once the export is done")


class JudgmentImportResult(View):
    project_id: int
    source: str = Field(description="label-studio, argilla or raw")
    records: int
    judgments: int = Field(description="judgments stored")
    items_created: int
    experts_created: int
    skipped_existing: int = Field(description="judgments the project already held (a re-import)")
    skipped_in_source: int = Field(description="cancelled, empty or unsubmitted annotations")


class AuditEntryOut(View):
    """One staff action from the append-only audit log."""

    id: int
    at: str | None
    actor_role: str = Field(description="admin, manager, … or \"operator\" for the command line")
    actor_expert_id: int | None
    actor_token_id: int | None
    action: str = Field(description="A dotted name such as project.created or terms.published")
    project_id: int | None
    target: str | None
    detail: dict[str, Any] | None


class ModelEndpointOut(View):
    """An OpenAI-compatible endpoint; its key is never stored or shown, only the name of the
    environment variable that holds it."""

    id: int
    name: str
    base_url: str
    model: str
    api_key_env: str | None
    api_key_set: bool | None = Field(description="Whether the key's variable is set in this server's environment "
                                                 "(null without a key)")
    max_concurrency: int
    timeout_s: float
    created_at: str | None
    calls: int = Field(0, description="Calls recorded (after their retries)")
    errors: int = Field(0, description="Calls that ended in an error")
    tokens_in: int = Field(0, description="Prompt tokens of the calls that reported them")
    tokens_out: int = Field(0, description="Completion tokens of the calls that reported them")
    mean_latency_ms: int | None = Field(None, description="Mean latency of the answered calls")
    last_test: dict[str, Any] | None = Field(None, description="The last test call: {ok, at, latency_ms, model, "
                                                               "error}")
    testing: bool = Field(False, description="A test job is waiting or running")


class ModelSettingsOut(View):
    """A project's model settings after a change, and what the change did to work in flight."""

    project_id: int
    candidates: dict[str, Any] | None = Field(description="{models, per_item, temperature, max_tokens, system?}")
    claims: dict[str, Any] | None = Field(description="{model}: splits fact-check responses into claims")
    judge_first: dict[str, Any] | None = Field(description="{model, min_agreement}: screens items before experts")
    ai_assistance: dict[str, Any] | None = Field(description="{model, kind}: the AI help shown to trainers")
    effects: list[str] = Field(description="What happened to the items and jobs, in words")


class GenerationOut(View):
    """The candidate-generation job of a project."""

    project_id: int
    pending: int = Field(description="Items waiting for their candidate answers (not leasable until then)")
    retried_failed: int = Field(description="Items a model had refused, queued again")
    job_id: int | None = Field(description="The job writing them (null when nothing is pending)")


class JudgingOut(View):
    """A queued model-judge job."""

    project_id: int
    model: str
    job_id: int | None


class SettingsChanged(View):
    """What a change of budget, overlap or requirements did to the work in flight."""

    project_id: int
    effects: list[str] = Field(description="In words, one line per consequence (\"nothing changed\" when none)")


class ItemsPage(View):
    """A page of a project's items in the item browser (50 by id; `next_after` continues). A
    filtered page reads at most 20,000 items: when it stopped there with fewer than 50 matches,
    `scanned_to` is the last item id it read and `next_after` searches on from it."""


class FactScoreReport(View):
    """Per model that wrote the responses: shares of claims supported (FActScore), refuted and
    not enough info, with intervals."""


class ModelCallOut(View):
    """One recorded call to a model endpoint: purpose, parameters, tokens, latency and outcome."""


class RevocationList(View):
    """A signed list of withdrawn judgments for dataset holders to drop."""


class ProjectStatusChanged(View):
    """A project's lifecycle move and what it did to the work in flight."""


class GuidelinesPublished(View):
    """The new guidelines version and what changed."""


class ItemDetail(View):
    """An item as trainers saw it, with its judgments, reviews, consensus and history (staff)."""


class ItemRetired(View):
    """A retired item: kept for the record, leased to nobody, out of exports."""
