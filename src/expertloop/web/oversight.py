"""What managers watch and steer: experts and their status, a project's quality report,
paused trainers, notifications and an item's routing history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.checks import MAX_ID, text_problem
from ..domain.errors import Conflict, ValidationFailed
from ..domain.experts import ExpertStatus
from ..domain.policies import Actor, require_staff
from ..services import audit as audit_svc
from ..services import exams as exams_svc
from ..services import experts as experts_svc
from ..services import oversight, reports
from ..services import projects as projects_svc
from .common import PageId, form_data, redirect, render, signed_in

router = APIRouter()
CONSENSUS_SHOWN = 50      # least-confident items listed
AUDIT_PAGE = 100          # audit entries per page


# -- experts --------------------------------------------------------------------------------------
@router.get("/manage/experts")
def experts_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    experts = experts_svc.list_experts(db, actor)
    exam_names = {e["id"]: e["name"] for e in exams_svc.list_exams(db, actor)}
    certificates = {e["id"]: exams_svc.certificates(db, actor, e["id"]) for e in experts}
    counts = {s.value: sum(1 for e in experts if e["status"] == s.value) for s in ExpertStatus}
    return render(request, "manage/experts.html", {
        "experts": experts, "certificates": certificates, "exam_names": exam_names, "counts": counts,
        "statuses": [s.value for s in ExpertStatus], "nav": "experts"})


@router.post("/manage/experts/{expert_id}/status")
def change_status(expert_id: PageId, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "change an expert's status")
    status = str(form.get("status") or "")
    try:
        expert = oversight.set_status(db, actor, expert_id, status)
    except (Conflict, ValidationFailed) as exc:
        return redirect(request, f"/manage/experts#expert-{expert_id}", flash=("error", exc.message))
    return redirect(request, f"/manage/experts#expert-{expert_id}",
                    flash=("success", f"{expert['name']} is now {expert['status']}."))


# -- pauses, notifications, item history ----------------------------------------------------------
@router.post("/manage/projects/{project_id}/pauses/{expert_id}/lift")
def lift_pause(project_id: PageId, expert_id: PageId, request: Request, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    pause = oversight.lift_pause(db, actor, project_id, expert_id)
    return redirect(request, f"/manage/projects/{project_id}#pauses",
                    flash=("success", f"{pause['expert_name']} may work on this project again."))


@router.get("/manage/notifications")
def notifications_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    notes = oversight.notifications(db, actor, limit=500)
    names = {p["id"]: p["name"] for p in projects_svc.project_names(db, actor)}
    return render(request, "manage/notifications.html", {"notes": notes, "names": names, "nav": "notifications"})


@router.get("/manage/audit")
def audit_page(request: Request, project: str | None = None, action: str | None = None, before: str | None = None,
               actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    """The audit log, newest first, filtered by project and action, one page at a time."""
    require_staff(actor, "read the audit log")
    project_id, before_id = _page_int(project), _page_int(before)
    action = (action or "").strip()[:64] or None
    if action is not None and text_problem(action) is not None:  # no database stores NUL: no such action
        action = None
    entries = audit_svc.list_entries(db, actor, project_id=project_id, action=action, before=before_id,
                                     limit=AUDIT_PAGE + 1)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    projects = projects_svc.project_names(db, actor)
    return render(request, "manage/audit.html", {
        "entries": entries, "more": more, "projects": projects, "names": {p["id"]: p["name"] for p in projects},
        "project_id": project_id, "action": action or "", "nav": "audit"})


def _page_int(value: str | None) -> int | None:
    """A filter's id from the query string; anything that is not an id in range is no filter."""
    if value is None or not value.strip().isdecimal():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


# -- quality --------------------------------------------------------------------------------------
@router.get("/manage/projects/{project_id}/quality")
def quality_page(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session)):
    """The project's quality snapshot (a job computes it): "as of" its time, "refreshing…" while a
    newer one is on its way, "being computed" (reloading itself) before the first."""
    project = projects_svc.get_project(db, actor, project_id, with_progress=False)
    report = reports.quality_report(db, actor, project_id, consensus_limit=CONSENSUS_SHOWN)
    names = {card["expert_id"]: card["name"] for card in report.get("trainers", [])}
    return render(request, "manage/quality.html", {"project": project, "report": report, "names": names,
                                                   "flag": describe_flag, "nav": "manage"})


@router.post("/manage/projects/{project_id}/quality/refresh")
def refresh_quality(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                    db: Session = Depends(get_session)):
    reports.request_refresh(db, actor, project_id)
    return redirect(request, f"/manage/projects/{project_id}/quality",
                    flash=("success", "The quality report is being recomputed; this page shows it when it is ready."))


FLAG_LABELS = {"too_fast": "Too fast", "position_bias": "Position bias", "length_bias": "Length bias",
               "label_skew": "Label skew", "straight_lining": "Straight-lining"}


def _p(value) -> str:
    return "—" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def describe_flag(flag: dict) -> dict:
    """A bias flag as a badge: a short label and its evidence in words (for the title)."""
    kind, n = flag["kind"], flag.get("n")
    if kind.startswith("leniency:"):
        criterion = kind.split(":", 1)[1]
        offset = flag.get("offset") or 0.0
        label = f"{'Lenient' if offset > 0 else 'Harsh'} on {criterion}"
        evidence = (f"scores {offset:+.2f} points from the other trainers on the same items "
                    f"({n} judgments, p = {_p(flag.get('p_value'))})")
    elif kind == "too_fast":
        label = FLAG_LABELS[kind]
        evidence = (f"{_pct(flag.get('fast_share'))} of {n} submissions took under a quarter of the item's median time"
                    f" (their median: {flag.get('median_seconds') or 0:.0f} s)")
    elif kind == "position_bias":
        label = FLAG_LABELS[kind]
        evidence = (f"chose the answer shown first in {_pct(flag.get('share_first'))} of {n} decided pairs "
                    f"(p = {_p(flag.get('p_value'))})")
    elif kind == "length_bias":
        label = FLAG_LABELS[kind]
        evidence = (f"chose the longer answer in {_pct(flag.get('share_longer'))} of {n} pairs, against "
                    f"{_pct(flag.get('consensus_share'))} for the consensus on the same items "
                    f"(p = {_p(flag.get('p_value'))})")
    elif kind == "label_skew":
        label = FLAG_LABELS[kind]
        evidence = (f"their answers are distributed unlike the consensus (total variation distance "
                    f"{flag.get('tvd') or 0:.2f}, {n} judgments, p = {_p(flag.get('p_value'))})")
    elif kind == "straight_lining":
        label = FLAG_LABELS[kind]
        evidence = (f"the same answer {flag.get('longest_run')} times in a row; answer entropy "
                    f"{flag.get('entropy') or 0:.2f} bits over {n} judgments")
    else:
        label = kind.replace("_", " ").capitalize()
        evidence = ", ".join(f"{k} = {v}" for k, v in flag.items() if k != "kind")
    return {"label": label, "evidence": evidence, "kind": kind.split(":", 1)[0]}


__all__ = ["describe_flag", "router"]
