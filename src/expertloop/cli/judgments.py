"""``expertloop judgments import``: bring a programme's existing judgments in."""

from __future__ import annotations

from pathlib import Path

import typer

judgments_app = typer.Typer(help="Import existing judgments (Label Studio, Argilla, expertloop raw).",
                            no_args_is_help=True)


@judgments_app.command("import")
def judgments_import(
    project: int = typer.Argument(..., help="Project id."),
    file: Path = typer.Argument(..., help="A Label Studio JSON export, Argilla v2 records (JSON or JSONL) or "
                                          "an expertloop raw export (JSONL)."),
    source: str = typer.Option("auto", help="auto, label-studio, argilla or raw (auto: told by the fields)."),
    question: str | None = typer.Option(None, help="The Argilla question to import, when records answer several."),
) -> None:
    """Import judgments with their items and annotators; all-or-nothing, idempotent.

    Items keep the source's ids as external_id; annotators become experts found or created by
    email (a placeholder address from their id when the source has no email)."""
    from ..services.files import RecordFile
    from ..services.judgment_imports import import_judgments
    from .main import OPERATOR, _errors, _session, err, out  # here: main registers this module

    with _errors(), _session() as session:
        records = RecordFile(file)
        with err.status(f"importing judgments from {file.name}…"):
            result = import_judgments(session, OPERATOR, project, records, source=source, question=question,
                                      unit="record" if file.suffix.lower() == ".json" else records.unit)
    out.print(f"imported {result['judgments']} judgments ({result['source']}) into project {project}: "
              f"{result['items_created']} new items, {result['experts_created']} new experts; "
              f"{result['skipped_existing']} already present, {result['skipped_in_source']} skipped in the source "
              "(cancelled, empty or not submitted)", highlight=False)
