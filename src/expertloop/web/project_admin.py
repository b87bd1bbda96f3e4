"""Running a project from the console: its lifecycle (draft → live → paused → closed →
archived), a new guidelines version, budget / overlap / requirements, terms and withdrawals, and
the item browser (search, filters, an item's full record, retiring)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, ValidationFailed
from ..domain.lifecycle import ACTION_LABELS, EFFECTS, TRANSITIONS, ProjectStatus
from ..domain.policies import Actor, require_staff
from ..domain.tasks.base import form_text, split_list
from ..services import consent as consent_svc
from ..services import items as items_svc
from ..services import lifecycle as lifecycle_svc
from ..services import projects as projects_svc
from .common import PageId, form_data, problems_of, redirect, render, safe_next, signed_in

router = APIRouter()


def _settings_context(db: Session, actor: Actor, project_id: int, **extra) -> dict:
    project = projects_svc.get_project(db, actor, project_id)
    status = ProjectStatus(project["status"])
    moves = [{"value": s.value, "label": ACTION_LABELS[s], "effect": EFFECTS[s]} for s in TRANSITIONS[status]]
    req = project["requirements"] or {}
    form = {"budget_usd": project.get("budget_usd") or "", "overlap": project["overlap"],
            "domains": ";".join(f"{k}:{v}" for k, v in (req.get("domains") or {}).items()),
            "languages": ";".join(req.get("languages") or []), "licenses": ";".join(req.get("licenses") or []),
            "min_degree": req.get("min_degree") or "none", "guidelines": project["guidelines"] or "",
            "terms": project["terms"] or ""}
    return {"project": project, "moves": moves, "effect": EFFECTS[status], "form": form, "nav": "manage",
            "consents": consent_svc.list_consents(db, actor, project_id), **extra}


@router.get("/manage/projects/{project_id}/settings")
def settings_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                  db: Session = Depends(get_session)):
    require_staff(actor, "change a project")
    return render(request, "manage/project_settings.html", _settings_context(db, actor, project_id))


def _back(project_id: int, anchor: str) -> str:
    return f"/manage/projects/{project_id}/settings#{anchor}"


@router.post("/manage/projects/{project_id}/status")
def change_status(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        done = lifecycle_svc.set_status(db, actor, project_id, form_text(form, "status"))
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, _back(project_id, "lifecycle"), flash=("error", exc.message))
    return redirect(request, _back(project_id, "lifecycle"),
                    flash=("success", f"The project is {done['status']}: {done['effect']}."))


@router.post("/manage/projects/{project_id}/guidelines")
def publish_guidelines(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                       actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        done = lifecycle_svc.publish_guidelines(db, actor, project_id, form_text(form, "guidelines"),
                                                base_version=_version(form, "base_version"))
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, _back(project_id, "guidelines"), flash=("error", exc.message))
    return redirect(request, _back(project_id, "guidelines"),
                    flash=("success", f"Guidelines version {done['guidelines_version']} published: {done['effect']}."))


def _version(form: FormData, key: str) -> int:
    """The version a form was opened on (a hidden field of the page), so two editors never
    overwrite each other unseen."""
    raw = form_text(form, key).strip()
    if not raw.isdecimal() or len(raw) > 9:
        raise ValidationFailed("is missing or not a version number: reload the page", loc=key)
    return int(raw)


def settings_from_form(form: FormData) -> dict:
    """Budget, overlap and requirements as ``services.lifecycle.update_settings`` takes them."""
    changes: dict = {"budget_usd": form_text(form, "budget_usd").strip() or None}
    overlap = form_text(form, "overlap").strip()
    if overlap:
        changes["overlap"] = int(overlap) if overlap.isdecimal() else overlap
    requirements: dict = {}
    domains: dict = {}
    bad = []
    for part in split_list(form_text(form, "domains").replace(";", ",")):
        name, sep, level = part.partition(":")
        if not sep or not level.strip().isdecimal():
            bad.append(part)
            continue
        domains[name.strip().lower()] = int(level.strip())
    if bad:
        raise ValidationFailed(f"write domain:level, e.g. history:3; got {bad[0]!r}", loc="requirements.domains")
    if domains:
        requirements["domains"] = domains
    for key in ("languages", "licenses"):
        values = [v.lower() for v in split_list(form_text(form, key).replace(";", ","))]
        if values:
            requirements[key] = values
    degree = form_text(form, "min_degree").strip()
    if degree and degree != "none":
        requirements["min_degree"] = degree
    changes["requirements"] = requirements
    return changes


@router.post("/manage/projects/{project_id}/settings")
def update_settings(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        changes = settings_from_form(form)
        project = projects_svc.get_project(db, actor, project_id)
        if project["adaptive_overlap"]:
            changes.pop("overlap", None)
        if project.get("requirements") and _same_requirements(project["requirements"], changes["requirements"]):
            changes.pop("requirements")
        done = lifecycle_svc.update_settings(db, actor, project_id, changes)
    except (Conflict, ValidationFailed) as exc:
        ctx = _settings_context(db, actor, project_id, errors=problems_of(exc, ""))
        ctx["form"].update({k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"})
        return render(request, "manage/project_settings.html", ctx, status=422)
    note = "Saved: " + "; ".join(done["effects"]) + "."
    return redirect(request, _back(project_id, "settings"), flash=("success", note))


def _same_requirements(stored: dict, new: dict) -> bool:
    def norm(r: dict) -> tuple:
        return (dict(r.get("domains") or {}), sorted(r.get("languages") or []), sorted(r.get("licenses") or []),
                (r.get("min_degree") or "none"))
    return norm(stored) == norm(new)


@router.post("/manage/projects/{project_id}/terms")
def publish_terms(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    try:
        base = _version(form, "base_version")
        current = projects_svc.get_project(db, actor, project_id)["terms_version"]
        if base != current:
            raise Conflict(f"version {current} of the terms was published since you opened this page; "
                           "nothing was published: read them and edit again")
        done = consent_svc.publish_terms(db, actor, project_id, form_text(form, "terms"))
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, _back(project_id, "terms"), flash=("error", exc.message))
    return redirect(request, _back(project_id, "terms"),
                    flash=("success", f"Terms version {done['terms_version']} published: every trainer agrees "
                                      "to them before their next task; work done so far stays under the terms "
                                      "it was done under."))


@router.post("/manage/projects/{project_id}/consents/withdraw")
def record_withdrawal(project_id: PageId, request: Request, form: FormData = Depends(form_data),
                      actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "record a withdrawal")
    raw = form_text(form, "expert_id").strip()
    reason = form_text(form, "reason").strip() or None
    try:
        if form.get("confirm") != "yes":
            raise ValidationFailed("tick the box to confirm the expert asked for this", loc="confirm")
        if not raw.isdecimal():
            raise ValidationFailed("choose the expert who asked to withdraw", loc="expert_id")
        done = consent_svc.withdraw(db, actor, project_id, expert_id=int(raw), reason=reason)
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, _back(project_id, "withdraw"), flash=("error", exc.message))
    n = done["contributions_removed"]
    return redirect(request, _back(project_id, "withdraw"),
                    flash=("success", f"Withdrawal recorded: {n} contribution{'' if n == 1 else 's'} leave every "
                                      f"later export; {done['released_leases']} live lease(s) released."))


# -- the item browser ------------------------------------------------------------------------------
def _confidence(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValidationFailed("must be a number between 0 and 1, or a percentage", loc=name) from None
    return number


@router.get("/manage/projects/{project_id}/items")
def items_page(project_id: PageId, request: Request, q: str = Query("", max_length=200),
               status: str = Query("", max_length=20), gold: str = Query("", max_length=5),
               flagged: str = Query("", max_length=5), max_confidence: str | None = Query(None, max_length=10),
               min_confidence: str | None = Query(None, max_length=10), after: int = Query(0, ge=0, le=2**31 - 1),
               actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "browse items")
    project = projects_svc.get_project(db, actor, project_id, with_progress=False)
    raw = {"q": q, "status": status, "gold": gold, "flagged": flagged, "max_confidence": max_confidence or "",
           "min_confidence": min_confidence or ""}
    errors = None
    page: dict = {"items": [], "next_after": None}
    try:
        filters = items_svc.ItemFilters(q=q, status=status, gold=gold, flagged=flagged == "yes",
                                        max_confidence=_confidence(max_confidence, "max_confidence"),
                                        min_confidence=_confidence(min_confidence, "min_confidence"))
        page = items_svc.list_items(db, actor, project_id, filters, after=after)
    except ValidationFailed as exc:
        errors = exc.problems
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(request, "manage/items.html", {"project": project, "page": page, "f": raw, "errors": errors,
                                                 "query": query, "after": after, "nav": "manage"},
                  status=422 if errors else 200)


@router.get("/manage/items/{item_id}")
def item_page(item_id: PageId, request: Request, back: str | None = None, actor: Actor = Depends(signed_in),
              db: Session = Depends(get_session)):
    detail = items_svc.item_detail(db, actor, item_id)
    project = projects_svc.get_project(db, actor, detail["project_id"], with_progress=False)
    return render(request, "manage/item.html", {
        "d": detail, "history": detail["history"], "project": project, "item": detail["seen"],
        "options": detail["options"], "task_type": detail["task_type"], "nav": "manage",
        "back": safe_next(back, f"/manage/projects/{project['id']}/items")})


@router.post("/manage/items/{item_id}/retire")
def retire(item_id: PageId, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    reason = form_text(form, "reason").strip() or None
    try:
        if form.get("confirm") != "yes":
            raise ValidationFailed("tick the box to confirm: a retired item leaves work and exports", loc="confirm")
        done = items_svc.retire_item(db, actor, item_id, reason=reason)
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, f"/manage/items/{item_id}", flash=("error", exc.message))
    return redirect(request, f"/manage/items/{item_id}",
                    flash=("success", f"Item retired: kept for the record, leased to nobody and left out of exports"
                                      f" ({done['released_leases']} live lease(s) released)."))
