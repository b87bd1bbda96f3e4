"""``expertloop``: run the server, manage experts, projects, items, tokens and exports.

Every command reads ``EXPERTLOOP_DATABASE_URL`` (default ``sqlite:///./expertloop.db``).
Errors print ``error: ...`` with each problem on its own line (file line numbers included)
and exit with status 1; nothing is changed by a command that fails.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Settings
from ..domain.errors import ExpertloopError, ValidationFailed
from ..domain.policies import Actor, Role
from ..domain.records import ExportFormat

app = typer.Typer(help="expertloop: expert human-data programmes for LLM training.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
experts_app = typer.Typer(help="Register experts (trainers).", no_args_is_help=True)
project_app = typer.Typer(help="Create projects.", no_args_is_help=True)
items_app = typer.Typer(help="Import items into a project.", no_args_is_help=True)
token_app = typer.Typer(help="Issue bearer tokens.", no_args_is_help=True)
app.add_typer(experts_app, name="experts")
app.add_typer(project_app, name="project")
app.add_typer(items_app, name="items")
app.add_typer(token_app, name="token")

OPERATOR = Actor(role=Role.admin)  # whoever holds the database URL is its administrator
err = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    return Settings()


@contextmanager
def _session(migrate: bool = False):
    from ..storage.db import make_engine, make_sessionmaker
    from ..storage.migrate import current_revision, upgrade

    settings = _settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        if migrate:
            upgrade(engine)
        elif current_revision(engine) is None:
            raise ValidationFailed(f"the database at {engine.url.render_as_string()} has no expertloop schema; "
                                   "run `expertloop init` first")
        session = make_sessionmaker(engine)()
        try:
            yield session
        finally:
            session.rollback()
            session.close()
    finally:
        engine.dispose()


@contextmanager
def _errors():
    """Map domain errors to a clear message and exit status 1."""
    try:
        yield
    except ExpertloopError as exc:
        if isinstance(exc, ValidationFailed) and len(exc.problems) > 1:
            err.print(f"[red]error:[/red] {len(exc.problems)} problems, nothing was changed:", highlight=False)
            for p in exc.problems:
                err.print(f"  {p}", highlight=False, markup=False)
        else:
            err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def init() -> None:
    """Create or migrate the database (Alembic upgrade head)."""
    from ..storage.migrate import current_revision

    with _errors(), _session(migrate=True) as session:
        rev = current_revision(session.get_bind())
    out.print(f"database ready at {_settings().database_url} (schema revision {rev})", highlight=False)


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8000, help="TCP port."),
          workers: int = typer.Option(1, min=1, help="Worker processes (use PostgreSQL for more than a few)."),
          demo: bool = typer.Option(False, "--demo", help="Seed the demo programme into an empty database "
                                                          "and print a token per role.")) -> None:
    """Run the API (and web app) at http://HOST:PORT; OpenAPI docs at /docs."""
    import uvicorn

    with _errors(), _session(migrate=True) as session:
        if demo:
            _seed_demo(session, f"http://{host}:{port}")
    uvicorn.run("expertloop.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info")


def _seed_demo(session, base: str) -> None:
    from ..demo import demo_tokens, is_empty, is_seeded, seed, seed_demo

    if is_empty(session):
        with err.status("seeding the demo programme (TruthfulQA, 6 projects)…"):
            seed_demo(session)
        out.print("demo programme seeded.")
    elif not is_seeded(session):
        raise ValidationFailed("--demo needs an empty database (or one seeded by --demo); this one has other data. "
                               "Point EXPERTLOOP_DATABASE_URL at a new file, e.g. sqlite:///./demo.db")
    tokens = demo_tokens(session)
    out.print(f"\n[bold]expertloop demo[/bold] at {base}  (API docs: {base}/docs)\n", highlight=False)
    for role in ("admin", "manager", "reviewer", "trainer"):
        out.print(f"  {role:<9} token: {getattr(tokens, role)}", highlight=False)
    out.print("\n  sign in at /signin with email and password:", highlight=False)
    for role, email in (("trainer", seed.TRAINER_EMAIL), ("reviewer", seed.REVIEWER_EMAIL),
                        ("applicant", seed.APPLICANT_EMAIL)):
        out.print(f"  {role:<9} {email} / {seed.DEMO_PASSWORDS[email]}", highlight=False)
    out.print(f"\n  try: curl -X POST -H 'Authorization: Bearer {tokens.trainer}' "
              f"{base}/api/v1/projects/1/assignments/next\n", highlight=False, soft_wrap=True)


@experts_app.command("import")
def experts_import(file: Path = typer.Argument(..., help="JSONL, JSON or CSV of experts.")) -> None:
    """Register experts from a file; all-or-nothing."""
    from ..services.experts import import_experts
    from ..services.files import read_records

    with _errors(), _session() as session:
        rows = import_experts(session, OPERATOR, read_records(file))
    for row in rows:
        out.print(f"{row['id']}\t{row['email']}", highlight=False)
    err.print(f"imported {len(rows)} experts")


@experts_app.command("set-password")
def experts_set_password(expert: int = typer.Argument(..., help="Expert id."),
                         password_stdin: bool = typer.Option(False, "--password-stdin",
                                                             help="Read the password from standard input.")) -> None:
    """Set an expert's password for browser sign-in (stored as an argon2 hash)."""
    from ..services.auth import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _errors(), _session() as session:
        row = set_password(session, None, expert, password)
    err.print(f"password set for expert {row['expert_id']} ({row['email']})", highlight=False)


@project_app.command("create")
def project_create(file: Path = typer.Argument(..., help="YAML or JSON project definition.")) -> None:
    """Create a project; prints its id."""
    from ..services.files import read_document
    from ..services.projects import create_project

    with _errors(), _session() as session:
        project = create_project(session, OPERATOR, read_document(file))
    out.print(project["id"])


@items_app.command("import")
def items_import(project: int = typer.Argument(..., help="Project id."),
                 file: Path = typer.Argument(..., help="JSONL, JSON, CSV or Parquet of items.")) -> None:
    """Import items; all-or-nothing, idempotent by external_id, with a progress bar."""
    from ..services.files import read_records
    from ..services.imports import import_items

    with _errors(), _session() as session:
        with err.status(f"reading {file.name}…"):
            records = read_records(file)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True,
                      disable=len(records) < 2000 or not err.is_terminal) as bar:
            tasks = {"validate": bar.add_task("validating", total=len(records)),
                     "store": bar.add_task("storing", total=len(records))}
            result = import_items(session, OPERATOR, project, records,
                                  progress=lambda phase, n: bar.update(tasks[phase], completed=n),
                                  unit="row" if file.suffix.lower() == ".parquet" else "line")
    out.print(f"imported {result['imported']} items into project {project} "
              f"({result['skipped_existing']} already present, {result['with_gold']} with gold)", highlight=False)


@token_app.command("create")
def token_create(role: Role = typer.Option(..., help="admin, manager, reviewer or trainer."),
                 expert: int | None = typer.Option(None, help="Expert id (required for reviewer and trainer)."),
                 label: str | None = typer.Option(None, help="A note to recognise the token by.")) -> None:
    """Print a new bearer token (shown once; only its hash is stored)."""
    from ..services.tokens import issue_token

    with _errors(), _session() as session:
        token = issue_token(session, role, expert, label)
    out.print(token, highlight=False)


@app.command()
def export(project: int = typer.Argument(..., help="Project id."),
           format: ExportFormat = typer.Option(..., "--format", "-f", help="Record layout."),
           output: Path | None = typer.Option(None, "-o", "--output",
                                                 help="FILE.jsonl or FILE.parquet (default: JSONL to stdout)."),
           consensus: bool = typer.Option(False, "--consensus",
                                          help="One record per item, built from the consensus (label, "
                                               "factcheck, preference, ranking, stepwise, trajectory)."),
           min_judgments: int | None = typer.Option(None, "--min-judgments", min=1,
                                                    help="Leave out items with fewer counted judgments."),
           min_confidence: float | None = typer.Option(None, "--min-confidence", min=0.0, max=1.0,
                                                       help="Leave out items whose consensus posterior is "
                                                            "lower (categorical task types).")) -> None:
    """Export collected judgments in TRL's layouts, with provenance metadata.

    A summary line on stderr says how many records were written and what was left out and why."""
    from ..services.exports import iter_jsonl, iter_records, write_file

    with _errors(), _session() as session:
        records = iter_records(session, OPERATOR, project, format, consensus=consensus,
                               min_judgments=min_judgments, min_confidence=min_confidence)
        if output is None:
            for chunk in iter_jsonl(records):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            err.print(f"wrote {records.written} records; {records.summary_line()}", highlight=False, soft_wrap=True)
            return
        n = write_file(records, output)
    err.print(f"wrote {n} records to {output}; {records.summary_line()}", highlight=False, soft_wrap=True)


@app.command()
def quality(project: int = typer.Argument(..., help="Project id."),
            as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
            n_boot: int = typer.Option(200, help="Bootstrap resamples for the agreement interval.")) -> None:
    """Agreement, consensus, trainer scorecards, bias flags and group disagreement."""
    from rich.table import Table

    from ..services.quality import project_quality

    with _errors(), _session() as session:
        report = project_quality(session, OPERATOR, project, n_boot=n_boot)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return
    out.print(f"[bold]project {report['project_id']}[/bold] ({report['task_type']}): {report['judgments']} judgments "
              f"on {report['items_judged']} items by {report['trainers_active']} trainers", highlight=False)
    agreement = report.get("agreement")
    if agreement:
        a = agreement["krippendorff_alpha"]
        out.print(f"Krippendorff's alpha ({agreement['level']}): {a['value']} [{a['low']}, {a['high']}]; "
                  f"percent agreement {agreement.get('percent_agreement', {}).get('value')}", highlight=False)
    for name, crit in (report.get("criteria") or {}).items():
        a = crit["agreement"]["krippendorff_alpha"]
        out.print(f"{name}: alpha (interval) {a['value']} [{a['low']}, {a['high']}]", highlight=False)
    table = Table("expert", "judgments", "gold acc [95%]", "agrees", "reliability", "median s", "flags")
    for c in report["trainers"]:
        gold = c["gold"]
        gold_text = f"{gold['accuracy']:.2f} [{gold['low']:.2f}, {gold['high']:.2f}]" if gold else "—"
        table.add_row(f"{c['expert_id']} {c['name']}", str(c["judgments"]), gold_text,
                      "—" if c["agreement_with_consensus"] is None else f"{c['agreement_with_consensus']:.2f}",
                      "—" if c["reliability"] is None else f"{c['reliability']:.2f}",
                      str(c["median_active_seconds"]), ", ".join(f["kind"] for f in c["flags"]) or "")
    out.print(table)
    doubtful = [c for c in report.get("consensus", []) if c["confidence"] < 0.9][:10]
    if doubtful:
        out.print("least confident items:", highlight=False)
        for c in doubtful:
            out.print(f"  item {c['external_id'] or c['item_id']} part {c['part']}: {c['label']} "
                      f"({c['confidence']:.2f}, {c['judgments']} judgments)", highlight=False)


exam_app = typer.Typer(help="Qualification exams.", no_args_is_help=True)
app.add_typer(exam_app, name="exam")


@exam_app.command("create")
def exam_create(file: Path = typer.Argument(..., help="YAML or JSON exam: questions with gold, pass mark, "
                                                     "time limit, retake cool-down.")) -> None:
    """Create a qualification exam; prints its id."""
    from ..services.exams import create_exam
    from ..services.files import read_document

    with _errors(), _session() as session:
        exam = create_exam(session, OPERATOR, read_document(file))
    out.print(exam["id"])


@exam_app.command("list")
def exam_list() -> None:
    """List exams."""
    from ..services.exams import list_exams

    with _errors(), _session() as session:
        rows = list_exams(session, OPERATOR)
    for e in rows:
        out.print(f"{e['id']}\t{e['domain']} level {e['level']}\t{e['questions']} questions\t"
                  f"pass {e['pass_mark']:.0%}\t{e['name']}", highlight=False)


@experts_app.command("status")
def experts_status(expert: int = typer.Argument(..., help="Expert id."),
                   status: str = typer.Argument(..., help="applicant, qualified, active, paused or offboarded.")) -> None:
    """Move an expert along onboarding (applicant → qualified → active), or pause/offboard."""
    from ..services.oversight import set_status

    with _errors(), _session() as session:
        row = set_status(session, OPERATOR, expert, status)
    out.print(f"expert {row['id']} is {row['status']}", highlight=False)


@app.command()
def pauses(project: int = typer.Argument(..., help="Project id."),
           lift: int | None = typer.Option(None, help="Lift the pause of this expert id.")) -> None:
    """Trainers paused from a project by its quality floor (and lift one)."""
    from ..services.oversight import lift_pause, list_pauses

    with _errors(), _session() as session:
        if lift is not None:
            lift_pause(session, OPERATOR, project, lift)
        rows = list_pauses(session, OPERATOR, project)
    for r in rows:
        state = f"lifted {r['lifted_at']}" if r["lifted_at"] else "paused"
        out.print(f"{r['expert_id']}\t{r['expert_name']}\t{state}\t{r['reason']}", highlight=False)


@app.command()
def notifications(project: int | None = typer.Option(None, help="Only this project."),
                  limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """Paused trainers and escalated items, newest first."""
    from ..services.oversight import notifications as list_notifications

    with _errors(), _session() as session:
        rows = list_notifications(session, OPERATOR, project, limit)
    for n in rows:
        out.print(f"{n['created_at']}\t{n['kind']}\t{n['message']}", highlight=False)


@app.command()
def consents(project: int = typer.Argument(..., help="Project id."),
             withdraw: int | None = typer.Option(None, help="Record the withdrawal of this expert id's consent "
                                                                 "(on their request); their work leaves every export."),
             reason: str | None = typer.Option(None, help="Why, with --withdraw (kept in the register)."),
             terms: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                                  help="Publish this markdown file as the project's new terms; "
                                                       "every trainer must agree again before new work.")) -> None:
    """The consent register of a project: who agreed to which terms version, who withdrew."""
    from ..services import consent

    with _errors(), _session() as session:
        if terms is not None:
            published = consent.publish_terms(session, OPERATOR, project, terms.read_text(encoding="utf-8"))
            out.print(f"terms version {published['terms_version']} published", highlight=False)
        if withdraw is not None:
            done = consent.withdraw(session, OPERATOR, project, expert_id=withdraw, reason=reason)
            out.print(f"consent withdrawn; {done['contributions_removed']} contributions leave every export",
                      highlight=False)
        rows = consent.list_consents(session, OPERATOR, project)
    for r in rows:
        state = f"withdrawn {r['withdrawn_at']} ({r['withdrawal_reason'] or 'no reason given'})" \
            if r["withdrawn_at"] else "in force"
        agreed = ("no terms agreed" if r["recorded_without_terms"]
                  else f"terms v{r['terms_version']}\tagreed {r['agreed_at']}")
        out.print(f"{r['expert_id']}\t{r['expert_name']}\t{agreed}\t{state}", highlight=False)


@app.command("backup")
def backup_cmd(file: Path = typer.Argument(..., dir_okay=False, help="The backup file to write (SQLite)."),
               overwrite: bool = typer.Option(False, "--overwrite", help="Replace FILE if it exists.")) -> None:
    """Back up the SQLite database while the server runs (SQLite's online backup); PostgreSQL: pg_dump."""
    from ..storage.backup import backup

    with _errors(), Progress(TextColumn("backing up"), BarColumn(), MofNCompleteColumn(), console=err,
                             transient=True) as bar:
        task = bar.add_task("pages", total=None)
        result = backup(_settings().database_url, file, overwrite=overwrite,
                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"backed up {result.pages} pages (schema revision {result.schema_revision}) to {result.path}",
              highlight=False)


@app.command("restore")
def restore_cmd(file: Path = typer.Argument(..., dir_okay=False, help="A file written by `expertloop backup`."),
                overwrite: bool = typer.Option(False, "--overwrite",
                                               help="Replace the database at EXPERTLOOP_DATABASE_URL.")) -> None:
    """Restore a SQLite backup into EXPERTLOOP_DATABASE_URL (checked first); then run `expertloop init`."""
    from ..storage.backup import restore

    with _errors():
        result = restore(file, _settings().database_url, overwrite=overwrite)
    out.print(f"restored {result.pages} pages (schema revision {result.schema_revision}) into {result.path}; "
              "run `expertloop init` to bring it to the newest schema", highlight=False)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
