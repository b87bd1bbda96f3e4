"""``expertloop experiment``: run an experiment inside a project and read its report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

experiment_app = typer.Typer(help="Experiments inside a project: arms, randomisation, report.",
                             no_args_is_help=True)


@experiment_app.command("create")
def experiment_create(project: int = typer.Argument(..., help="Project id."),
                      file: Path = typer.Argument(..., help="YAML or JSON experiment: name, unit, arms.")) -> None:
    """Start an experiment in a project (one at a time); prints its id."""
    from ..services.experiments import create_experiment
    from ..services.files import read_document
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        e = create_experiment(session, OPERATOR, project, read_document(file))
    out.print(e["id"])


@experiment_app.command("stop")
def experiment_stop(project: int = typer.Argument(..., help="Project id.")) -> None:
    """Stop the project's running experiment; its report stays readable."""
    from ..services.experiments import stop_experiment
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        e = stop_experiment(session, OPERATOR, project)
    out.print(f"experiment {e['id']} stopped", highlight=False)


def _cell(share: dict) -> str:
    if share["value"] is None:
        return "—"
    interval = "" if share["low"] is None else f" [{share['low']:.3g}, {share['high']:.3g}]"
    return f"{share['value']:.3g}{interval} (n={share['n']})"


@experiment_app.command("report")
def experiment_report_cmd(project: int = typer.Argument(..., help="Project id."),
                          as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Outcomes per arm with intervals, tests against the control (Holm-adjusted) and power."""
    from rich.table import Table

    from ..services.experiments import experiment_report
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        report = experiment_report(session, OPERATOR, project, fresh=True)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return
    e = report["experiment"]
    out.print(f"[bold]experiment {e['id']}[/bold] {e['name']} ({e['status']}); unit: {e['unit']}; "
              f"control: {report['control']}", highlight=False)
    out.print(report["randomisation"], highlight=False)
    table = Table("arm", "units", "judgments", "agreement w/ consensus", "gold accuracy", "seconds/task",
                  "cost/item $", "review acceptance")
    for a in report["arms"]:
        table.add_row(a["arm"], str(a["units"]), str(a["judgments"]), _cell(a["agreement_with_consensus"]),
                      _cell(a["gold_accuracy"]), _cell(a["seconds_per_task"]), _cell(a["cost_per_item_usd"]),
                      _cell(a["review_acceptance"]))
    out.print(table)
    tests = Table("arm vs control", "outcome", "effect [95%]", "p", "p (Holm)", "test")
    for t in report["tests"]:
        est = "—" if t["estimate"] is None else f"{t['effect']} {t['estimate']:+.3g}" if t["effect"] == "difference" \
            else f"{t['effect']} {t['estimate']:.3g}"
        ci = "" if t["low"] is None or t["high"] is None else f" [{t['low']:.3g}, {t['high']:.3g}]"
        p = "—" if t["p_value"] is None else f"{t['p_value']:.3g}"
        ph = "—" if t["p_holm"] is None else f"{t['p_holm']:.3g}" + (" *" if t["significant"] else "")
        tests.add_row(t["arm"], t["outcome"], est + ci, p, ph, t["test"])
    out.print(tests)
    out.print(f"power: {report['power']['statement']}", highlight=False)
