"""``expertloop forecast``: judgments, expert-hours and dollars to reach a target on the rest."""

from __future__ import annotations

import json
import sys

import typer

from ..domain.checks import MAX_ID
from .main import OPERATOR, _errors, _session, out


def forecast_cmd(project: int = typer.Argument(..., min=1, max=MAX_ID, help="Project id."),
                 target: str = typer.Option("accuracy=0.95", "--target",
                                            help="accuracy=X (expected consensus accuracy) or alpha=X "
                                                 "(Krippendorff's alpha of the consensus against the truth)."),
                 draws: int = typer.Option(100, "--draws", min=1, max=500,
                                           help="Draws of the trainers' measured parameters behind the interval."),
                 seed: int = typer.Option(0, "--seed", min=0, max=2**31 - 1, help="Random seed."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Forecast the remaining items from the pilot: one row per tier mix, 90% intervals."""
    from ..services.forecast import project_forecast

    with _errors(), _session() as session:
        result = project_forecast(session, OPERATOR, project, target, draws=draws, seed=seed, fresh=True)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    t = result["target"]
    budget = "no budget" if result["budget_left_usd"] is None else f"budget left ${result['budget_left_usd']}"
    out.print(f"project {project}: {result['remaining_items']} items left, target {t['kind']} {t['value']}, "
              f"{result['trainers']} trainers measured (fit of {result['fitted_at']}), {budget}",
              highlight=False, markup=False)
    out.print("mix\ttrainers\tjudgments [90%]\texpert-hours [90%]\tdollars [90%]\taccuracy\treachable",
              highlight=False, markup=False)
    for m in result["mixes"]:
        if not m["trainers"]:
            out.print(f"{m['mix']}\t0\t{m['note']}", highlight=False, markup=False)
            continue
        j, h, c = m["judgments"], m["hours"], m["cost_usd"]
        out.print(f"{m['mix']}\t{m['trainers']}\t{j['mean']:.0f} [{j['low']:.0f}-{j['high']:.0f}]\t"
                  f"{h['mean']:.1f} [{h['low']:.1f}-{h['high']:.1f}]\t${c['mean']} [${c['low']}-${c['high']}]\t"
                  f"{m['accuracy']['mean']:.3f}\t{m['reach_probability']:.0%}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_cmd)
