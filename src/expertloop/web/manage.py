"""Manager pages: projects overview, a project's dashboard, create a project, upload items,
download exports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import ValidationFailed
from ..domain.policies import Actor, require_staff
from ..domain.projects import TaskType
from ..domain.records import COMPATIBLE, ExportFormat
from ..services import consent as consent_svc
from ..services import dashboards, oversight
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
        project = projects_svc.create_project(db, actor, data)
    except ValidationFailed as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return render(request, "manage/new_project.html", {"form": values, "errors": exc.problems,
                                                           "from_file": upload is not None, "nav": "new"},
                      status=422)
    return redirect(request, f"/manage/projects/{project['id']}",
                    flash=("success", f"Project “{project['name']}” created. Upload its items below."))


def _dashboard_context(db: Session, actor: Actor, project_id: int, **extra) -> dict:
    dash = dashboards.project_dashboard(db, actor, project_id)
    return {"dash": dash, "project": dash["project"], "formats": export_formats(dash["project"]["task_type"]),
            "pauses": oversight.list_pauses(db, actor, project_id),
            "consents": consent_svc.list_consents(db, actor, project_id) if dash["project"]["terms_version"] else [],
            "notes": oversight.notifications(db, actor, project_id, limit=20),
            "jobs": jobs_svc.list_jobs(db, actor, project_id=project_id, limit=10), "nav": "manage", **extra}


@router.get("/manage/projects/{project_id}")
def project_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session)):
    return render(request, "manage/project.html", _dashboard_context(db, actor, project_id))


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
            records = files_svc.read_records(path)
        finally:
            cleanup(path)
        unit = "row" if path.suffix.lower() == ".parquet" else "line"
        result = imports_svc.import_items(db, actor, project_id, records, unit=unit,
                                          max_item_bytes=request.app.state.settings.max_item_bytes)
    except ValidationFailed as exc:
        ctx = _dashboard_context(db, actor, project_id, import_errors=exc.problems, import_file=filename)
        return render(request, "manage/project.html", ctx, status=422)
    note = (f"Imported {result['imported']} items from {filename}"
            f" ({result['skipped_existing']} already present, {result['with_gold']} with gold).")
    return redirect(request, f"/manage/projects/{project_id}#items", flash=("success", note))


@router.get("/manage/projects/{project_id}/export")
def export(project_id: PageId, request: Request, format: str = ExportFormat.raw.value,
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    fmt = exports_svc.parse_format(format)
    exports_svc.iter_records(db, actor, project_id, fmt)  # access and format are checked before streaming
    factory = request.app.state.sessionmaker

    def body():
        stream_session = factory()
        try:
            yield from exports_svc.iter_jsonl(exports_svc.iter_records(stream_session, actor, project_id, fmt))
        finally:
            stream_session.close()

    filename = f"project-{project_id}-{fmt.value}.jsonl"
    return finish(request, StreamingResponse(body(), media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'}))
