"""Dataset passports and authenticity review from the command line: signed exports (the
``--manifest`` / ``--hub-dir`` options of ``expertloop export``), ``verify``, ``revocations``
and ``authenticity``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..domain.records import ExportFormat

VERIFY_EXIT_DROP = 3  # the folder is intact, and the revocation list names records to drop

authenticity_app = typer.Typer(help="Review authenticity flags (evidence, decisions, replies).",
                               no_args_is_help=True)


def signed_export(project: int, fmt: ExportFormat, *, output: Path | None, hub_dir: Path | None, file_format: str,
                  consensus: bool, min_judgments: int | None, min_confidence: float | None, test_share: float,
                  seed: int, license: str, include_audit: bool) -> None:
    from ..domain.errors import ValidationFailed
    from ..services.passport import export_dataset
    from .main import OPERATOR, _errors, _session, _settings, err

    with _errors():
        if hub_dir is not None and output is not None:
            raise ValidationFailed("give either -o DIR (with --manifest) or --hub-dir DIR, not both", loc="output")
        target = hub_dir if hub_dir is not None else output
        if target is None:
            raise ValidationFailed("--manifest writes a folder: name it with -o DIR", loc="output")
        with _session() as session:
            manifest = export_dataset(session, OPERATOR, project, fmt, target, file_format=file_format,
                                      consensus=consensus, min_judgments=min_judgments,
                                      min_confidence=min_confidence, hub=hub_dir is not None,
                                      test_share=test_share, seed=seed, license=license,
                                      include_audit=include_audit, settings=_settings())
    counts = manifest["counts"]
    err.print(f"wrote {counts['records']} records to {target} with manifest.json "
              f"(signed by {manifest['signing']['fingerprint']}); left out "
              f"{sum(counts['left_out'].values())} {counts['unit']}", highlight=False, soft_wrap=True)


def verify(directory: Path = typer.Argument(..., exists=True, file_okay=False,
                                            help="A folder written by `export --manifest` or `--hub-dir`."),
           revocations: Path | None = typer.Option(None, "--revocations", exists=True, dir_okay=False,
                                                   help="A revocation list (`expertloop revocations`): name the "
                                                        "records to drop."),
           trust: str | None = typer.Option(None, "--trust", help="The fingerprint (sha256:…) of the publisher's "
                                                                   "key, as published at /api/v1/signing-key."),
           as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Check a dataset folder: the manifest's signature and every file's SHA-256.

    Exit status 0: intact; 1: something failed (each failure named); 3: intact, but the
    revocation list names records to drop."""
    from ..services.passport import verify as check
    from .main import _errors

    with _errors():
        result = check(directory, revocations=revocations, trusted_fingerprint=trust)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        signing = (result.manifest or {}).get("signing") or {}
        for name in result.checked:
            typer.echo(f"ok\t{name}")
        for problem in result.problems:
            typer.echo(f"FAIL\t{problem}")
        for note in result.notes:
            typer.echo(f"note\t{note}")
        for d in result.drop:
            typer.echo(f"DROP\t{d['file']} record {d['record']}: assignment {d['assignment_id']}, item "
                       f"{d['item_external_id'] or d['item_id']} — {d['why']}")
        if result.ok:
            typer.echo(f"verified: signature by {signing.get('fingerprint')} is good and {len(result.checked)} "
                       f"files match their hashes" + (f"; {len(result.drop)} records to drop" if result.drop else ""))
        else:
            typer.echo(f"NOT verified: {len(result.problems)} problems")
    if not result.ok:
        raise typer.Exit(1)
    if result.drop:
        raise typer.Exit(VERIFY_EXIT_DROP)


def revocations(project: int = typer.Argument(..., help="Project id."),
                output: Path | None = typer.Option(None, "--out", "-o", dir_okay=False,
                                                   help="Write the signed list here (default: stdout).")) -> None:
    """The signed revocation list: judgments of the project whose author withdrew consent."""
    from ..services.passport import revocation_list
    from .main import OPERATOR, _errors, _session, err

    with _errors(), _session() as session:
        doc = revocation_list(session, OPERATOR, project)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    err.print(f"{doc['count']} revoked records in project {project}" + (f", written to {output}" if output else ""),
              highlight=False)


@authenticity_app.command("list")
def authenticity_list(project: int = typer.Argument(..., help="Project id."),
                      status: str = typer.Option("flagged", help="flagged, cleared, upheld, clear, no_signals "
                                                                 "or all."),
                      as_json: bool = typer.Option(False, "--json", help="Print a JSON array with the evidence.")
                      ) -> None:
    """Authenticity checks of a project with their evidence (default: flags awaiting a decision)."""
    from ..services.authenticity import review_queue
    from .main import OPERATOR, _errors, _listing, _session

    with _errors(), _session() as session:
        rows = review_queue(session, OPERATOR, project, status=None if status == "all" else status, limit=1000)

    def line(r: dict) -> str:
        reasons = "; ".join(f"{x['field']}: {x['kind']} {x['value']} ≥ {x['threshold']}" for x in r["reasons"])
        return (f"{r['id']}\tassignment {r['assignment_id']}\t{r['expert_name']}\t{r['status']}\t{reasons or '-'}"
                + (f"\treply: {r['expert_reply']}" if r["expert_reply"] else ""))
    _listing(rows, as_json, line, empty=f"no {status if status != 'all' else ''} authenticity checks in project "
                                        f"{project}".replace("  ", " "))


@authenticity_app.command("decide")
def authenticity_decide(check: int = typer.Argument(..., help="Check id (see `authenticity list`)."),
                        outcome: str = typer.Argument(..., help="cleared (the expert's own work) or upheld."),
                        note: str | None = typer.Option(None, help="What the expert reads (required when "
                                                                   "upheld).")) -> None:
    """Decide a flag; the expert is notified. Pay is not changed."""
    from ..services.authenticity import decide
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        row = decide(session, OPERATOR, check, outcome, note)
    out.print(f"check {row['id']} is {row['status']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("revocations")(revocations)
    app.add_typer(authenticity_app, name="authenticity")


@authenticity_app.command("reference")
def authenticity_reference(project: int = typer.Argument(..., help="Project id."),
                           endpoint: str = typer.Option(..., help="A model endpoint (`expertloop models list`)."),
                           limit: int = typer.Option(1000, min=1, max=10_000,
                                                     help="At most this many items, in id order.")) -> None:
    """Ask a model to answer each item's prompt (items without one yet); answers are then compared
    with it for authenticity (stored in the item's metadata as model_answer)."""
    from ..services.authenticity import fetch_reference_answers
    from .main import OPERATOR, _errors, _session, out

    with _errors(), _session() as session:
        result = fetch_reference_answers(session, OPERATOR, project, endpoint, limit=limit)
    out.print(f"stored {result['answers_stored']} model answers from {endpoint} in project {project}",
              highlight=False)
