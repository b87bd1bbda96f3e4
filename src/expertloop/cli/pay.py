"""``expertloop pay``: pay periods, bonuses and adjustments, statements and the payroll CSV."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..domain.checks import MAX_ID
from .main import OPERATOR, _errors, _listing, _session, err, out

app: typer.Typer = typer.Typer(help="Pay periods, bonuses and adjustments, statements and payroll.",
                               no_args_is_help=True)


@app.command("periods")
def periods(as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """List pay periods, newest first: id, name, dates, open or closed."""
    from ..services.payroll import list_periods

    with _errors(), _session() as session:
        rows = list_periods(session, OPERATOR)
    _listing(rows, as_json, lambda p: f"{p['id']}\t{p['name']}\t{p['starts_on']}\t{p['ends_on']}\t"
             f"{'closed' if p['closed'] else 'open'}", empty="no pay periods; open one with `expertloop pay open`")


@app.command("open")
def open_period(name: str = typer.Argument(..., help="Period name, e.g. 2026-03."),
                start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD (UTC)."),
                end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD (UTC), inclusive.")) -> None:
    """Open a pay period; periods never overlap. Prints its id."""
    from ..services.payroll import create_period

    with _errors(), _session() as session:
        p = create_period(session, None, name, start, end)
    out.print(p["id"])


@app.command("close")
def close(period: int = typer.Argument(..., min=1, max=MAX_ID, help="Pay period id.")) -> None:
    """Close a pay period: no more bonuses or adjustments dated in it."""
    from ..services.payroll import close_period

    with _errors(), _session() as session:
        p = close_period(session, None, period)
    err.print(f"pay period {p['name']} closed", highlight=False, markup=False)


@app.command("adjust")
def adjust(expert: int = typer.Argument(..., min=1, max=MAX_ID, help="Expert id."),
           amount: str = typer.Option(..., "--amount", help="Dollars, e.g. 25.00, or --amount=-12.50 (a minus "
                                                            "takes money back)."),
           reason: str = typer.Option(..., "--reason", help="Why: the expert reads it on their statement."),
           bonus: bool = typer.Option(False, "--bonus", help="A bonus (positive) rather than an adjustment."),
           project: int | None = typer.Option(None, "--project", min=1, max=MAX_ID,
                                              help="Charge it to this project's budget."),
           locale: str | None = typer.Option(None, "--locale",
                                             help="How AMOUNT is written, e.g. de-DE for 12,50; without it a "
                                                  "comma is read only between thousands.")) -> None:
    """Add a bonus or an adjustment with its reason (recorded in the audit log). Prints the entry id."""
    from ..services.payroll import add_entry

    with _errors(), _session() as session:
        row = add_entry(session, None, expert, "bonus" if bonus else "adjustment", amount, reason,
                        project_id=project, locale=locale)
    err.print(f"{row['kind']} of ${row['amount_usd']} for expert {expert}: {row['reason']}", highlight=False,
              markup=False)
    out.print(row["id"])


@app.command("payroll")
def payroll_cmd(period: int = typer.Argument(..., min=1, max=MAX_ID, help="Pay period id."),
                output: Path | None = typer.Option(None, "--output", "-o", help="Write the CSV here (default stdout)."),
                as_json: bool = typer.Option(False, "--json", help="Print JSON instead of CSV.")) -> None:
    """The payroll of a period as CSV: one row per expert, amounts in exact cents."""
    from ..services.payroll import payroll, payroll_csv

    with _errors(), _session() as session:
        data = payroll(session, None, period)
        text = json.dumps(data, indent=2) + "\n" if as_json else payroll_csv(data)
        if output is not None:
            output.write_text(text, encoding="utf-8")
            err.print(f"{len(data['rows'])} experts, total ${data['total_usd']} written to {output}",
                      highlight=False, markup=False)
            return
    typer.echo(text, nl=False)


@app.command("statement")
def statement_cmd(expert: int = typer.Argument(..., min=1, max=MAX_ID, help="Expert id."),
                  period: int = typer.Argument(..., min=1, max=MAX_ID, help="Pay period id."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON instead of CSV.")) -> None:
    """An expert's statement for a period as CSV: every line with its minutes, cap, rate and reason."""
    from ..services.payroll import statement, statement_csv

    with _errors(), _session() as session:
        data = statement(session, OPERATOR, expert, period)
    typer.echo(json.dumps(data, indent=2) if as_json else statement_csv(data), nl=as_json)
