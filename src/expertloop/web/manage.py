"""Manager pages: projects overview, a project's dashboard, create a project, upload items,
download exports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..domain.records import COMPATIBLE, ExportFormat
from ..domain.tasks import task_type as task_type_spec
from ..services import consent as consent_svc
from ..services import dashboards, export_jobs, oversight
from ..services import experiments as experiments_svc
from ..services import exports as exports_svc
from ..services import files as files_svc
from ..services import imports as imports_svc
from ..services import jobs as jobs_svc
from ..services import projects as projects_svc
from .common import PageId, finish, form_data, redirect, render, signed_in
from .forms import project_from_form
from .uploads import DOCUMENT_SUFFIXES, cleanup, save_upload, uploaded_file

router = APIRouter()

EXPORT_HELP = {
    ExportFormat.sft: "messages with the ideal answer (TRL SFTTrainer)",
    ExportFormat.preference: "prompt / chosen / rejected pairs (TRL DPO, reward models)",
    ExportFormat.ranking: "pairs from every ranking (k·(k−1)/2 per judgment)",
    ExportFormat.kto: "prompt / completion / label (TRL KTOTrainer)",
    ExportFormat.factcheck: "claims with verdicts, evidence and corrections",
    ExportFormat.rubric: "scores per criterion with comments",
    ExportFormat.label: "the item with its label",
    ExportFormat.stepwise: "prompt / completions / labels per step (TRL PRMTrainer)",
    ExportFormat.trajectory: "the agent trace with step labels, failure modes and verdict",
    ExportFormat.rubrics: "prompt / rubric: criteria with weight and category (rubrics as rewards)",
    ExportFormat.redteam: "the attack conversation, the failing turn and its label (red-teaming)",
    ExportFormat.raw: "everything: item, response, presentation order, time, gold",
}


def export_formats(task_type: str) -> list[dict]:
    tt = TaskType(task_type)
    return [{"value": f.value, "help": EXPORT_HELP[f]} for f in ExportFormat if tt in COMPATIBLE[f]]


@router.get("/manage")
def overview(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    projects = dashboards.projects_overview(db, actor)
    return render(request, "manage/projects.html", {"projects": projects, "nav": "manage"})


@router.get("/manage/projects/new")
def new_project(request: Request, actor: Actor = Depends(signed_in)):
    require_staff(actor, "create projects")
    return render(request, "manage/new_project.html", {"form": {}, "nav": "new"})


@router.post("/manage/projects")
def create_project(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
                   db: Session = Depends(get_session)):
    require_staff(actor, "create projects")
    upload = uploaded_file(form, "definition")
    try:
        if upload is not None:
            path = save_upload(upload, DOCUMENT_SUFFIXES)
            try:
                data = files_svc.read_document(path)
            finally:
                cleanup(path)
        else:
            data = project_from_form(form)
        if isinstance(data, dict) and "status" not in data:  # the console starts projects as drafts
            data = {**data, "status": "live" if form.get("start") == "live" else "draft"}
        project = projects_svc.create_project(db, actor, data)
    except ValidationFailed as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return render(request, "manage/new_project.html", {"form": values, "errors": exc.problems,
                                                           "from_file": upload is not None, "nav": "new"},
                      status=422)
    note = (f"Project “{project['name']}” created as a draft: upload its items below, then go live from "
            "“Run”." if project["status"] == "draft" else f"Project “{project['name']}” created and live. "
            "Upload its items below.")
    return redirect(request, f"/manage/projects/{project['id']}", flash=("success", note))


def _dashboard_context(db: Session, actor: Actor, project_id: int, **extra) -> dict:
    dash = dashboards.project_dashboard(db, actor, project_id)
    task_type = dash["project"]["task_type"]
    return {"dash": dash, "project": dash["project"], "formats": export_formats(task_type),
            "consensus_formats": [f.value for f in task_type_spec(task_type).consensus_formats],
            "exports": export_jobs.list_exports(db, actor, project_id, limit=5),
            "pauses": oversight.list_pauses(db, actor, project_id),
            "consents": consent_svc.list_consents(db, actor, project_id) if dash["project"]["terms_version"] else [],
            "notes": oversight.notifications(db, actor, project_id, limit=20),
            "jobs": jobs_svc.list_jobs(db, actor, project_id=project_id, limit=10),
            "experiment": experiments_svc.project_experiment(db, actor, project_id), "nav": "manage", **extra}


@router.get("/manage/projects/{project_id}")
def project_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session),
                 forecast_kind: str | None = Query(None, max_length=10),
                 forecast_value: str | None = Query(None, max_length=20)):
    ctx = _dashboard_context(db, actor, project_id)
    if forecast_kind is not None or forecast_value is not None:  # on request: it simulates for a second or two
        from ..domain.errors import Conflict
        from ..services.forecast import project_forecast

        target = f"{(forecast_kind or 'accuracy').strip()}={(forecast_value or '').strip()}"
        ctx["forecast_target"] = {"kind": forecast_kind, "value": forecast_value}
        try:
            ctx["forecast"] = project_forecast(db, actor, project_id, target)
        except (Conflict, ValidationFailed) as exc:
            ctx["forecast_error"] = exc.message
    return render(request, "manage/project.html", ctx)


@router.post("/manage/projects/{project_id}/items")
def upload_items(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                 actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "import items")
    upload = uploaded_file(form, "file")
    filename = upload.filename if upload else None
    try:
        if upload is None:
            raise ValidationFailed("choose a JSONL, JSON, CSV or Parquet file to upload", loc="file")
        path = save_upload(upload, files_svc.RECORD_SUFFIXES)
        try:
            records = files_svc.RecordFile(path)  # streamed: flat memory for a file of any size
            result = imports_svc.import_items(db, actor, project_id, records, unit=records.unit,
                                              max_item_bytes=request.app.state.settings.max_item_bytes)
        finally:
            cleanup(path)
    except ValidationFailed as exc:
        ctx = _dashboard_context(db, actor, project_id, import_errors=exc.problems, import_file=filename)
        return render(request, "manage/project.html", ctx, status=422)
    note = (f"Imported {result['imported']} items from {filename}"
            f" ({result['skipped_existing']} already present, {result['with_gold']} with gold).")
    return redirect(request, f"/manage/projects/{project_id}#items", flash=("success", note))


def _export_options(values) -> dict:
    """Export options from a console form or query: empty fields are absent; numbers are checked
    by the export itself (a bad one is named there)."""
    def number(key: str, kind):
        text = str(values.get(key) or "").strip()
        if not text:
            return None
        try:
            return kind(text)
        except ValueError:
            raise ValidationFailed(f"must be a number, got {text!r}", loc=key) from None

    file = str(values.get("file") or "jsonl")
    if file not in exports_svc.FILE_TYPES:
        raise ValidationFailed(f"must be one of {', '.join(exports_svc.FILE_TYPES)}; got {file!r}", loc="file")
    return {"consensus": str(values.get("consensus") or "") in ("1", "true", "on"),
            "min_judgments": number("min_judgments", int), "min_confidence": number("min_confidence", float),
            "judge_settled": str(values.get("judge_settled") or "") in ("1", "true", "on"), "file": file}


def _download(request: Request, actor: Actor, project_id: int, fmt: ExportFormat, options: dict):
    file = options.pop("file")
    factory = request.app.state.sessionmaker

    def body():
        stream_session = factory()
        try:
            records = exports_svc.iter_records(stream_session, actor, project_id, fmt, **options)
            yield from (exports_svc.iter_parquet(records) if file == "parquet" else exports_svc.iter_jsonl(records))
        finally:
            stream_session.close()

    suffix = "-consensus" if options["consensus"] else ""
    filename = f"project-{project_id}-{fmt.value}{suffix}.{file}"
    media = "application/vnd.apache.parquet" if file == "parquet" else "application/x-ndjson"
    return finish(request, StreamingResponse(body(), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'}))


@router.get("/manage/projects/{project_id}/export")
def export(project_id: PageId, request: Request, format: str = ExportFormat.raw.value,
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    """Download an export now (streamed): ``format``, ``file`` (jsonl or parquet), ``consensus``,
    ``min_judgments``, ``min_confidence``, ``judge_settled`` as query parameters."""
    fmt = exports_svc.parse_format(format)
    options = _export_options(request.query_params)
    exports_svc.check_export(db, actor, project_id, fmt, consensus=options["consensus"],
                             min_judgments=options["min_judgments"], min_confidence=options["min_confidence"])
    return _download(request, actor, project_id, fmt, options)


@router.post("/manage/projects/{project_id}/exports")
def export_from_form(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                     actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    """The export form: download now, or (``mode=job``) prepare the file in the background and
    show its download link on the project page when it is written."""
    try:
        fmt = exports_svc.parse_format(str(form.get("format") or ""))
        options = _export_options(form)
        if form.get("mode") == "job":
            job = export_jobs.request_export(db, actor, project_id, fmt.value,
                                             data_dir=request.app.state.settings.data_dir, **options)
        else:
            exports_svc.check_export(db, actor, project_id, fmt, consensus=options["consensus"],
                                     min_judgments=options["min_judgments"],
                                     min_confidence=options["min_confidence"])
            return _download(request, actor, project_id, fmt, options)
    except ValidationFailed as exc:
        ctx = _dashboard_context(db, actor, project_id, export_errors=exc.problems)
        return render(request, "manage/project.html", ctx, status=422)
    note = (f"Export {job['id']} queued: the {fmt.value} {options['file']} file is being written. "
            "Its download link appears under Export when it is ready.")
    return redirect(request, f"/manage/projects/{project_id}#export", flash=("success", note))


@router.get("/manage/exports/{export_id}/download")
def download_export(export_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                    db: Session = Depends(get_session)):
    path, name = export_jobs.export_file(db, actor, export_id, data_dir=request.app.state.settings.data_dir)
    media = {".parquet": "application/vnd.apache.parquet", ".zip": "application/zip"}.get(path.suffix,
                                                                                        "application/x-ndjson")
    return finish(request, FileResponse(path, media_type=media, filename=name))
