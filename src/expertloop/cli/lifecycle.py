"""``expertloop project status|guidelines|set`` and ``expertloop items retire``: running a
project after it is created (the same services as the console and the API).

``register`` adds them to the ``project`` and ``items`` command groups of ``cli.main``; the
helpers they share with it are imported when a command runs, so the modules import each other
in either order."""

from __future__ import annotations

from pathlib import Path

import typer


def project_status(project: int = typer.Argument(..., help="Project id."),
                   status: str = typer.Argument(..., help="draft, live, paused, closed or archived.")) -> None:
    """Move a project along draft → live → paused → closed → archived; says what happens to work in flight."""
    from ..services.lifecycle import set_status
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        done = set_status(session, OPERATOR, project, status)
    out.print(f"project {project}: {done['previous']} → {done['status']}: {done['effect']}", highlight=False)


def project_guidelines(project: int = typer.Argument(..., help="Project id."),
                       file: Path = typer.Argument(..., help="Markdown file with the new guidelines.")) -> None:
    """Publish new guidelines as the next version; trainers see what changed on their next task."""
    from ..domain.errors import ValidationFailed
    from ..services.lifecycle import publish_guidelines
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationFailed(f"cannot read {file}: {exc}", loc="file") from None
        done = publish_guidelines(session, OPERATOR, project, text)
    out.print(f"project {project}: guidelines version {done['guidelines_version']} ({done['effect']})",
              highlight=False)


def project_set(project: int = typer.Argument(..., help="Project id."),
                budget: str | None = typer.Option(None, help='New budget in USD, e.g. "5000.00"; "none" for none.'),
                overlap: int | None = typer.Option(None, help="Judgments per item (fixed overlap only).")) -> None:
    """Change a project's budget or overlap; prints what happens to work in flight."""
    from ..services.lifecycle import update_settings
    from .main import OPERATOR, _errors, _session, out

    changes: dict = {}
    if budget is not None:
        changes["budget_usd"] = None if budget.strip().lower() == "none" else budget
    if overlap is not None:
        changes["overlap"] = overlap
    with _errors(), _session() as session:
        done = update_settings(session, OPERATOR, project, changes)
    for effect in done["effects"]:
        out.print(f"project {project}: {effect}", highlight=False)


def items_retire(item: int = typer.Argument(..., help="Item id."),
                 reason: str | None = typer.Option(None, help="Why (kept with the item's history).")) -> None:
    """Retire an item: kept for the record, leased to nobody and left out of exports."""
    from ..services.items import retire_item
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        done = retire_item(session, OPERATOR, item, reason=reason)
    out.print(f"item {item} retired; {done['released_leases']} live lease(s) released", highlight=False)


def register(project_app: typer.Typer, items_app: typer.Typer) -> None:
    project_app.command("status")(project_status)
    project_app.command("guidelines")(project_guidelines)
    project_app.command("set")(project_set)
    items_app.command("retire")(items_retire)
