"""``expertloop disputes``: gold disputes, listed and decided."""

from __future__ import annotations

import json

import typer

from ..domain.checks import MAX_ID
from .main import OPERATOR, _errors, _listing, _session, err

app: typer.Typer = typer.Typer(help="Gold disputes raised by experts: list and decide.", no_args_is_help=True)


@app.command("list")
def list_cmd(state: str = typer.Option("open", "--state", help="open, upheld, rejected or all."),
             project: int | None = typer.Option(None, "--project", min=1, max=MAX_ID, help="Only this project."),
             as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Disputes: id, project, item, expert, state, reason."""
    from ..domain.errors import ValidationFailed
    from ..services.standing import list_disputes

    with _errors(), _session() as session:
        if state not in ("open", "upheld", "rejected", "all"):
            raise ValidationFailed(f"--state must be open, upheld, rejected or all; got {state!r}")
        rows = list_disputes(session, OPERATOR, state=None if state == "all" else state, project_id=project)
    _listing(rows, as_json, lambda d: f"{d['id']}\tproject {d['project_id']}\titem {d['item_id']}\t"
             f"expert {d['expert_id']}\t{d['state']}\t{d['reason']}",
             empty=f"no {'' if state == 'all' else state + ' '}disputes")


@app.command("decide")
def decide(dispute: int = typer.Argument(..., min=1, max=MAX_ID, help="Dispute id."),
           uphold: bool = typer.Option(False, "--uphold", help="Uphold: give the corrected gold with --gold."),
           reject: bool = typer.Option(False, "--reject", help="Reject: say why with --note."),
           gold: str | None = typer.Option(None, "--gold", help="Corrected gold: a JSON response or a shorthand "
                                                               "such as a label."),
           note: str | None = typer.Option(None, "--note", help="The adjudicator's note to the expert.")) -> None:
    """Decide a dispute. Upheld: the item's gold is corrected and every score that used it recomputed."""
    from ..domain.errors import ValidationFailed
    from ..services.standing import decide_dispute

    with _errors(), _session() as session:
        if uphold == reject:
            raise ValidationFailed("give exactly one of --uphold or --reject")
        value = None
        if gold is not None:
            try:
                value = json.loads(gold)
            except json.JSONDecodeError:
                value = gold  # a shorthand label
        row = decide_dispute(session, None, dispute, "uphold" if uphold else "reject", gold=value, note=note)
    err.print(f"dispute {row['id']} {row['state']}; rescored: "
              + (", ".join(f"expert {r['expert_id']} gold {r['gold_accuracy']}" for r in row["rescored"]) or "-"),
              highlight=False, markup=False)
