"""Models in the console: the model endpoints (admins register, staff list and test) and a
project's model work — its candidate models, claim model, ``judge_first`` judge and AI help, the
buttons that queue generation, a judge or suggestions, and those jobs' progress.

No page waits on a model: a test call, candidate generation, claim splitting, judging and AI
suggestions all run as jobs; the pages show their progress from the jobs table. The endpoint's
key is never shown, only the name of the variable that holds it and whether it is set.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.policies import Actor, Role, require_staff
from ..domain.tasks.base import form_text
from ..services import ai_help, generation, judging
from ..services import jobs as jobs_svc
from ..services import model_settings as settings_svc
from ..services import models as models_svc
from ..services import projects as projects_svc
from .common import PageId, form_data, problems_of, redirect, render, signed_in

router = APIRouter()

MODEL_JOBS = ("generate_candidates", "split_claims", "judge_items", "ai_suggestions")
ENDPOINT_FIELDS = ("name", "base_url", "model", "api_key_env", "max_concurrency", "timeout_s")


def _number(text: str) -> int | float | str | None:
    """A number typed in a form (``0.8`` or ``80%``); anything else as typed, for the domain to
    name the field it is wrong in."""
    text = text.strip()
    if not text:
        return None
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        return int(text) if text.lstrip("-").isdecimal() else float(text)
    except ValueError:
        return text


# -- endpoints -------------------------------------------------------------------------------------
def _endpoints_page(request: Request, db: Session, actor: Actor, *, form: dict | None = None, errors=None,
                    status: int = 200):
    endpoints = models_svc.list_endpoints(db, actor)
    return render(request, "manage/models.html", {
        "endpoints": endpoints, "can_register": actor.role == Role.admin, "errors": errors,
        "f": form or {"max_concurrency": str(models_svc.DEFAULT_CONCURRENCY),
                      "timeout_s": f"{models_svc.DEFAULT_TIMEOUT_S:g}"},
        "testing": any(e["testing"] for e in endpoints), "nav": "models"}, status=status)


@router.get("/manage/models")
def models_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "see model endpoints")
    return _endpoints_page(request, db, actor)


@router.post("/manage/models")
def register_model(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
                   db: Session = Depends(get_session)):
    """Admins only: the service refuses anyone else before it reads the form."""
    values = {k: form_text(form, k).strip() for k in ENDPOINT_FIELDS}
    try:
        done = models_svc.add_endpoint(db, actor, values["name"], values["base_url"], values["model"],
                                       api_key_env=values["api_key_env"] or None,
                                       max_concurrency=_number(values["max_concurrency"]),
                                       timeout_s=_number(values["timeout_s"]))
    except (Conflict, ValidationFailed) as exc:
        return _endpoints_page(request, db, actor, form=values, errors=problems_of(exc, "name"),
                               status=exc.status_code)
    return redirect(request, "/manage/models#endpoints", flash=(
        "success", f"Model endpoint “{done['name']}” registered ({done['model']} at {done['base_url']}). "
                   "Test it to see that it answers."))


@router.post("/manage/models/test")
def test_model(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    """Queue a test call of the endpoint named in the form (``name``)."""
    done = models_svc.request_test(db, actor, form_text(form, "name").strip())
    return redirect(request, f"/manage/models#model-{done['name']}", flash=(
        "info", f"Test of “{done['name']}” queued (job {done['job_id']}): its result shows here when the model "
                "has answered."))


# -- a project's model work ------------------------------------------------------------------------
def _project_context(db: Session, actor: Actor, project_id: int, **extra) -> dict:
    project = projects_svc.get_project(db, actor, project_id)
    settings = settings_svc.model_settings(db, actor, project_id)
    jobs = [j for j in jobs_svc.list_jobs(db, actor, project_id=project_id, limit=50) if j["kind"] in MODEL_JOBS]
    endpoints = [e["name"] for e in models_svc.list_endpoints(db, actor)]
    posted = extra.pop("posted", None)
    return {"project": project, "s": settings, "jobs": jobs[:10], "endpoints": endpoints,
            "f": _prefill(settings, posted), "running": any(j["state"] in ("queued", "running") for j in jobs),
            "latest": settings_svc.latest_model_items(db, actor, project_id), "nav": "manage", **extra}


def _prefill(settings: dict, posted: FormData | None) -> dict:
    """What the settings form shows: what was posted (after a refusal), else what is stored."""
    if posted is not None:
        return {"candidates_models": [v for v in posted.getlist("candidates_models") if isinstance(v, str)],
                **{k: form_text(posted, k) for k in (
                    "candidates_per_item", "candidates_temperature", "candidates_max_tokens", "candidates_system",
                    "claims_model", "judge_first_model", "judge_first_min_agreement", "ai_model", "ai_kind")}}
    cand, judge, ai = settings["candidates"] or {}, settings["judge_first"] or {}, settings["ai_assistance"] or {}

    def text(value) -> str:
        return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return {"candidates_models": list(cand.get("models") or []), "candidates_per_item": text(cand.get("per_item")),
            "candidates_temperature": text(cand.get("temperature")),
            "candidates_max_tokens": text(cand.get("max_tokens")), "candidates_system": cand.get("system") or "",
            "claims_model": (settings["claims"] or {}).get("model") or "",
            "judge_first_model": judge.get("model") or "",
            "judge_first_min_agreement": text(judge.get("min_agreement")), "ai_model": ai.get("model") or "",
            "ai_kind": ai.get("kind") or ""}


@router.get("/manage/projects/{project_id}/models")
def project_models_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                        db: Session = Depends(get_session)):
    require_staff(actor, "change a project's model settings")
    return render(request, "manage/project_models.html", _project_context(db, actor, project_id))


def models_from_form(form: FormData, allows: dict) -> dict:
    """The changes the model-settings form describes, as ``update_models`` takes them: only the
    sections the project's task type has; an empty model clears a setting."""
    changes: dict = {}
    if allows.get("candidates"):
        names = [v for v in form.getlist("candidates_models") if isinstance(v, str) and v.strip()]
        changes["candidates"] = None if not names else {
            k: v for k, v in (("models", names), ("per_item", _number(form_text(form, "candidates_per_item"))),
                              ("temperature", _number(form_text(form, "candidates_temperature"))),
                              ("max_tokens", _number(form_text(form, "candidates_max_tokens"))),
                              ("system", form_text(form, "candidates_system").strip() or None)) if v is not None}
    if allows.get("claims"):
        model = form_text(form, "claims_model").strip()
        changes["claims"] = {"model": model} if model else None
    if allows.get("judge_first"):
        model = form_text(form, "judge_first_model").strip()
        agreement = _number(form_text(form, "judge_first_min_agreement"))
        changes["judge_first"] = None if not model else {
            k: v for k, v in (("model", model), ("min_agreement", agreement)) if v is not None}
    if allows.get("ai_assistance"):
        model = form_text(form, "ai_model").strip()
        changes["ai_assistance"] = {"model": model, "kind": form_text(form, "ai_kind").strip()} if model else None
    return changes


@router.post("/manage/projects/{project_id}/models")
def update_models(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "change a project's model settings")
    allows = settings_svc.model_settings(db, actor, project_id)["allows"]
    try:
        done = settings_svc.update_models(db, actor, project_id, models_from_form(form, allows))
    except (Conflict, ValidationFailed) as exc:
        ctx = _project_context(db, actor, project_id, errors=problems_of(exc, ""), posted=form)
        return render(request, "manage/project_models.html", ctx, status=exc.status_code)
    return redirect(request, f"/manage/projects/{project_id}/models#settings",
                    flash=("success", "Saved: " + "; ".join(done["effects"]) + "."))


def _back(project_id: int) -> str:
    return f"/manage/projects/{project_id}/models#jobs"


@router.post("/manage/projects/{project_id}/generate")
def generate(project_id: PageId, request: Request, form: FormData = Depends(form_data),
             actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    """Run or resume the project's candidate generation (or claim splitting): items a model
    refused are tried again."""
    try:
        done = generation.request_generation(db, actor, project_id)
    except Conflict as exc:
        return redirect(request, _back(project_id), flash=("error", exc.message))
    if done["job_id"] is None:
        return redirect(request, _back(project_id), flash=("info", "Nothing waits for a model: every item has its "
                                                                   "answers (or claims)."))
    retried = f", {done['retried_failed']} of them refused before and tried again" if done["retried_failed"] else ""
    return redirect(request, _back(project_id), flash=(
        "success", f"Job {done['job_id']} queued: {done['pending']} item{'' if done['pending'] == 1 else 's'} "
                   f"wait for a model{retried}. Its progress shows below."))


@router.post("/manage/projects/{project_id}/judge")
def judge(project_id: PageId, request: Request, form: FormData = Depends(form_data),
          actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        done = judging.request_judging(db, actor, project_id, form_text(form, "model").strip())
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, _back(project_id), flash=("error", f"{exc.message}" if isinstance(exc, Conflict)
                                                           else "; ".join(f"{p.loc}: {p.msg}" for p in exc.problems)))
    return redirect(request, _back(project_id), flash=(
        "success", f"Job {done['job_id']} queued: {done['model']} judges the items it has not judged. Its "
                   "calibration against the experts shows in the quality report."))


@router.post("/manage/projects/{project_id}/suggestions")
def suggestions(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        done = ai_help.request_suggestions(db, actor, project_id)
    except NotFound as exc:
        return redirect(request, _back(project_id), flash=("error", exc.message))
    return redirect(request, _back(project_id), flash=(
        "success", f"Job {done['job_id']} queued: AI suggestions for the items that have none."))
