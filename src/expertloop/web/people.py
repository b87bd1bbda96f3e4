"""Pages for pay, standing and disputes: a trainer's statements and quality view, and the
manager's pay periods, payroll, adjustments and dispute adjudication."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..deps import get_session
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.policies import Actor, require_expert, require_staff
from ..services import experts as experts_svc
from ..services import payroll as pay_svc
from ..services import projects as projects_svc
from ..services import standing as standing_svc
from .common import OptionalPageId, PageId, finish, form_data, redirect, render, signed_in

router = APIRouter()
LOCALES = (("", "1,250.50 (a point for decimals)"), ("de-DE", "1.250,50 (a comma for decimals)"),
           ("fr-FR", "1 250,50 (a comma for decimals)"))


def _csv(request: Request, text: str, filename: str) -> Response:
    return finish(request, Response(text, media_type="text/csv; charset=utf-8",
                                    headers={"Content-Disposition": f'attachment; filename="{filename}"'}))


# -- the trainer's pay ------------------------------------------------------------------------------
@router.get("/pay")
def my_pay(request: Request, period: OptionalPageId = None, actor: Actor = Depends(signed_in),
           db: Session = Depends(get_session)):
    expert_id = require_expert(actor)
    periods = pay_svc.list_periods(db, actor)
    chosen = period or (periods[0]["id"] if periods else None)
    statement = pay_svc.statement(db, actor, expert_id, chosen) if chosen else None
    expert = experts_svc.get_expert(db, actor, expert_id)
    return render(request, "people/pay.html", {"periods": periods, "statement": statement, "chosen": chosen,
                                               "expert": expert, "nav": "pay"})


@router.get("/pay/{period_id}/statement.csv")
def my_statement_csv(period_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                     db: Session = Depends(get_session)):
    data = pay_svc.statement(db, actor, require_expert(actor), period_id)
    return _csv(request, pay_svc.statement_csv(data), f"statement-{period_id}.csv")


# -- the trainer's standing and disputes ------------------------------------------------------------
@router.get("/work/projects/{project_id}/standing")
def my_standing(project_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    data = standing_svc.standing(db, actor, require_expert(actor), project_id)
    return render(request, "people/standing.html", {"s": data, "nav": "my-work"})


@router.post("/work/assignments/{assignment_id}/dispute")
def dispute(assignment_id: PageId, request: Request, form: FormData = Depends(form_data),
            actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    project_id = int(str(form.get("project_id") or "0")) if str(form.get("project_id") or "").isdecimal() else None
    back = f"/work/projects/{project_id}/standing" if project_id else "/my-work"
    try:
        standing_svc.open_dispute(db, actor, assignment_id, str(form.get("reason") or ""))
    except (ValidationFailed, Conflict) as exc:
        return redirect(request, back, flash=("error", exc.message))
    return redirect(request, back, flash=("success", "Dispute sent to an adjudicator. You will see the decision here."))


# -- the manager's pay ------------------------------------------------------------------------------
@router.get("/manage/pay")
def manage_pay(request: Request, period: OptionalPageId = None, actor: Actor = Depends(signed_in),
               db: Session = Depends(get_session)):
    require_staff(actor, "run payroll")
    periods = pay_svc.list_periods(db, actor)
    chosen = period or (periods[0]["id"] if periods else None)
    data = pay_svc.payroll(db, actor, chosen) if chosen else None
    experts = experts_svc.list_experts(db, actor)
    projects = projects_svc.project_names(db, actor)
    return render(request, "people/manage_pay.html", {"periods": periods, "payroll": data, "chosen": chosen,
                                                      "experts": experts, "projects": projects,
                                                      "locales": LOCALES, "nav": "pay"})


@router.post("/manage/pay/periods")
def create_period(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
                  db: Session = Depends(get_session)):
    try:
        p = pay_svc.create_period(db, actor, str(form.get("name") or ""), str(form.get("starts_on") or ""),
                                  str(form.get("ends_on") or ""))
    except (ValidationFailed, Conflict) as exc:
        return redirect(request, "/manage/pay", flash=("error", exc.message))
    return redirect(request, f"/manage/pay?period={p['id']}", flash=("success", f"Pay period {p['name']} opened."))


@router.post("/manage/pay/{period_id}/close")
def close_period(period_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                 db: Session = Depends(get_session)):
    try:
        p = pay_svc.close_period(db, actor, period_id)
    except Conflict as exc:
        return redirect(request, f"/manage/pay?period={period_id}", flash=("error", exc.message))
    return redirect(request, f"/manage/pay?period={period_id}", flash=("success", f"Pay period {p['name']} closed."))


@router.post("/manage/pay/adjust")
def adjust(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(signed_in),
           db: Session = Depends(get_session)):
    back = "/manage/pay" + (f"?period={form.get('period')}" if str(form.get("period") or "").isdecimal() else "")
    expert = str(form.get("expert_id") or "")
    project = str(form.get("project_id") or "")
    if not expert.isdecimal() or not 1 <= int(expert) <= 2**31 - 1:
        return redirect(request, back, flash=("error", "expert: choose an expert"))
    try:
        row = pay_svc.add_entry(db, actor, int(expert), str(form.get("kind") or ""), str(form.get("amount") or ""),
                                str(form.get("reason") or ""),
                                project_id=int(project) if project.isdecimal() and int(project) <= 2**31 - 1 else None,
                                locale=str(form.get("locale") or "") or None)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return redirect(request, back, flash=("error", exc.message))
    return redirect(request, back, flash=("success", f"{row['kind'].capitalize()} of ${row['amount_usd']} recorded "
                                                     f"for expert #{row['expert_id']}: {row['reason']}"))


@router.get("/manage/pay/{period_id}/payroll.csv")
def payroll_csv(period_id: PageId, request: Request, actor: Actor = Depends(signed_in),
                db: Session = Depends(get_session)):
    data = pay_svc.payroll(db, actor, period_id)
    return _csv(request, pay_svc.payroll_csv(data), f"payroll-{data['period']['name']}.csv")


@router.get("/manage/experts/{expert_id}/statements/{period_id}")
def expert_statement(expert_id: PageId, period_id: PageId, request: Request, format: str = "html",
                     actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    require_staff(actor, "read other experts' statements")
    data = pay_svc.statement(db, actor, expert_id, period_id)
    if format == "csv":
        return _csv(request, pay_svc.statement_csv(data), f"statement-{expert_id}-{period_id}.csv")
    expert = experts_svc.get_expert(db, actor, expert_id)
    return render(request, "people/pay.html", {"periods": [data["period"]], "statement": data, "chosen": period_id,
                                               "expert": expert, "nav": "pay", "staff_view": True})


# -- disputes ---------------------------------------------------------------------------------------
@router.get("/manage/disputes")
def disputes(request: Request, state: str = "open", actor: Actor = Depends(signed_in),
             db: Session = Depends(get_session)):
    state = state if state in ("open", "upheld", "rejected") else "open"
    rows = standing_svc.list_disputes(db, actor, state=state)
    return render(request, "people/disputes.html", {"rows": rows, "state": state, "nav": "disputes"})


@router.post("/manage/disputes/{dispute_id}/decide")
def decide(dispute_id: PageId, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(signed_in), db: Session = Depends(get_session)):
    decision = str(form.get("decision") or "")
    gold = str(form.get("gold") or "").strip() or None
    value: object = gold
    if gold is not None and gold[:1] in "{[":
        import json
        try:
            value = json.loads(gold)
        except json.JSONDecodeError:
            return redirect(request, "/manage/disputes", flash=("error", "gold: is not valid JSON"))
    try:
        row = standing_svc.decide_dispute(db, actor, dispute_id, decision, gold=value,
                                          note=str(form.get("note") or ""))
    except (ValidationFailed, Conflict) as exc:
        return redirect(request, "/manage/disputes", flash=("error", exc.message))
    rescored = ", ".join(f"expert #{r['expert_id']} gold {r['gold_accuracy']:.0%}" for r in row["rescored"]
                         if r["gold_accuracy"] is not None)
    note = f"Dispute #{row['id']} {row['state']}." + (f" Rescored: {rescored}." if rescored else "")
    return redirect(request, "/manage/disputes", flash=("success", note))
