"""``expertloop forecast``: judgments, expert-hours and dollars a target needs."""

from __future__ import annotations

import json
import sys

import typer


def forecast(project: int = typer.Argument(..., help="Project id."),
             target: str = typer.Option(..., "--target", help="accuracy=P, e.g. accuracy=0.95"),
             as_json: bool = typer.Option(False, "--json", help="Print the forecast as JSON.")) -> None:
    """Simulate adaptive overlap on the items nobody has judged yet from the pilot's trainers."""
    from ..domain.money import fmt_usd, from_cents
    from ..services.forecast import project_forecast
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        f = project_forecast(session, OPERATOR, project, target, fresh=True)
    if as_json:
        sys.stdout.write(json.dumps(f, indent=2) + "\n")
        return
    j, h, c = f["judgments"], f["expert_hours"], f["cost_cents"]

    def usd(cents: int) -> str:
        return fmt_usd(from_cents(cents))

    reached = "reached" if f["reached"] else f"NOT reached within {f['max_overlap']} judgments per item"
    out.print(f"{f['remaining_items']} items left, {f['trainers']} trainers measured; target accuracy "
              f"{f['target']['accuracy']}: {reached} (simulated {f['accuracy']['median']}, stop at confidence "
              f"{f['stop_confidence']}, {f['mean_overlap']} judgments per item)", highlight=False)
    out.print(f"judgments {j['median']:.0f} [{j['low']:.0f}, {j['high']:.0f}]; expert-hours {h['median']} "
              f"[{h['low']}, {h['high']}]; cost ${usd(c['median'])} [${usd(c['low'])}, ${usd(c['high'])}] "
              f"({f['interval']})", highlight=False)
