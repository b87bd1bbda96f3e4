"""Payroll: pay periods, bonuses and adjustments, statements and the payroll CSV."""

from typing import Literal

from fastapi import Body, Depends, Response
from sqlalchemy.orm import Session

from ...domain.checks import MAX_ID
from ...domain.errors import ValidationFailed
from ...domain.policies import Actor
from ...services import payroll as svc
from ..deps import get_actor, get_session
from ..schemas import Id, JsonObject, errors
from ..schemas.people import CSV, PayEntryOut, PayPeriodOut, PayrollOut, StatementOut
from ._base import router as make_router

router = make_router("pay")
Format = Literal["json", "csv"]


def _csv(text: str, filename: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _opt_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed("must be a string", loc=key)
    return value


@router.get("/pay-periods", summary="Pay periods, newest first", response_model=list[PayPeriodOut])
def list_periods(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> list[dict]:
    return svc.list_periods(session, actor)


@router.post("/pay-periods", summary="Open a pay period (admin, manager); periods never overlap",
             status_code=201, response_model=PayPeriodOut, responses=errors(403, 409))
def create_period(body: JsonObject = Body(..., examples=[{"name": "2026-03", "starts_on": "2026-03-01",
                                                          "ends_on": "2026-03-31"}]),
                  actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.create_period(session, actor, _opt_str(body, "name") or "", body.get("starts_on"),
                             body.get("ends_on"))


@router.post("/pay-periods/{period_id}/close", summary="Close a pay period: no more adjustments dated in it",
             response_model=PayPeriodOut, responses=errors(403, 404, 409))
def close_period(period_id: Id, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    return svc.close_period(session, actor, period_id)


@router.get("/pay-periods/{period_id}/payroll",
            summary="What each expert is owed for the period (admin, manager); format=csv for payroll",
            response_model=PayrollOut, responses={200: {"content": CSV}, **errors(403, 404)})
def payroll(period_id: Id, format: Format = "json", actor: Actor = Depends(get_actor),
            session: Session = Depends(get_session)):
    data = svc.payroll(session, actor, period_id)
    if format == "csv":
        return _csv(svc.payroll_csv(data), f"payroll-{period_id}.csv")
    return data


@router.post("/experts/{expert_id}/pay-adjustments",
             summary="Add a bonus or an adjustment with its reason (admin, manager; audited)",
             status_code=201, response_model=PayEntryOut, responses=errors(403, 404, 409))
def add_adjustment(expert_id: Id, body: JsonObject = Body(..., examples=[
        {"kind": "bonus", "amount_usd": "25.00", "reason": "Weekend cover", "project_id": 1},
        {"kind": "adjustment", "amount_usd": "-12,50", "reason": "Duplicate task", "locale": "de-DE"}]),
        actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> dict:
    project_id = body.get("project_id")
    if project_id is not None and (isinstance(project_id, bool) or not isinstance(project_id, int)
                                   or not 1 <= project_id <= MAX_ID):
        raise ValidationFailed("must be a project id", loc="project_id")
    amount = body.get("amount_usd")
    if amount is None:
        raise ValidationFailed("is required, e.g. \"25.00\"", loc="amount_usd")
    return svc.add_entry(session, actor, expert_id, _opt_str(body, "kind") or "", amount,
                         body.get("reason"), project_id=project_id, locale=_opt_str(body, "locale"))


@router.get("/experts/{expert_id}/statements/{period_id}",
            summary="An expert's pay statement for a period, line by line (their own; staff: anyone's)",
            response_model=StatementOut, responses={200: {"content": CSV}, **errors(403, 404)})
def statement(expert_id: Id, period_id: Id, format: Format = "json", actor: Actor = Depends(get_actor),
              session: Session = Depends(get_session)):
    data = svc.statement(session, actor, expert_id, period_id)
    if format == "csv":
        return _csv(svc.statement_csv(data), f"statement-{expert_id}-{period_id}.csv")
    return data
