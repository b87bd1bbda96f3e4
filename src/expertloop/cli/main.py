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

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Settings
from ..domain.checks import MAX_ID
from ..domain.errors import ExpertloopError, ValidationFailed
from ..domain.policies import Actor, Role
from ..domain.records import ExportFormat

if __name__ in ("__main__", "__mp_main__"):  # pragma: no cover
    # Run as `python -m expertloop.cli.main` (or re-imported as __mp_main__ by the worker
    # processes `serve --workers N` spawns): the sub-command modules import this module's
    # helpers by name, so they must find this very module under it, not load a second copy that
    # would import them back half-made.
    sys.modules.setdefault("expertloop.cli.main", sys.modules[__name__])

app = typer.Typer(help="expertloop: expert human-data programmes for LLM training.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
experts_app = typer.Typer(help="Register experts (trainers).", no_args_is_help=True)
project_app = typer.Typer(help="Create projects.", no_args_is_help=True)
items_app = typer.Typer(help="Import items into a project.", no_args_is_help=True)
token_app = typer.Typer(help="Issue, list and revoke bearer tokens.", no_args_is_help=True)
app.add_typer(experts_app, name="experts")
app.add_typer(project_app, name="project")
app.add_typer(items_app, name="items")
app.add_typer(token_app, name="token")

OPERATOR = Actor(role=Role.admin)  # whoever holds the database URL is its administrator
err = Console(stderr=True, soft_wrap=True)  # never hard-wrap: output is read by scripts too
out = Console(soft_wrap=True)


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
            session.close()
    finally:
        engine.dispose()


@contextmanager
def _errors():
    """Map every failure to one clear message and exit status 1 — never a traceback.

    Domain errors print their problems (each on its own line); a file that cannot be read, a
    database that refuses the request and anything unexpected print one ``error:`` line.
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except (typer.Exit, typer.Abort, click.exceptions.ClickException):
        raise
    except ExpertloopError as exc:
        if isinstance(exc, ValidationFailed) and len(exc.problems) > 1:
            err.print(f"[red]error:[/red] {len(exc.problems)} problems, nothing was changed:", highlight=False)
            for p in exc.problems:
                err.print(f"  {p}", highlight=False, markup=False)
        else:
            _fail(exc.message)
        raise typer.Exit(1) from None
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        _fail(f"{exc.strerror or exc}{where}")
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        _fail(f"the database refused the request ({first}); nothing was changed")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        _fail(f"database error: {str(exc).splitlines()[0]}")
        raise typer.Exit(1) from None
    except RecursionError:
        _fail("the input is nested too deeply to read")
        raise typer.Exit(1) from None
    except Exception as exc:  # a bug: still one line, with what to report
        _fail(f"unexpected {type(exc).__name__}: {exc} (please report this with the command you ran)")
        raise typer.Exit(1) from None


def _listing(rows: list[dict], as_json: bool, line, *, empty: str) -> None:
    """Print a listing: tab-separated columns, or with ``--json`` one JSON array (``[]`` when
    empty). An empty listing in columns says so on stderr rather than printing nothing."""
    import json

    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=1), highlight=False, markup=False, soft_wrap=True)
        return
    if not rows:
        err.print(empty, highlight=False, markup=False)
    for row in rows:
        out.print(line(row), highlight=False, markup=False, soft_wrap=True)


def _fail(message: str) -> None:
    err.print("[red]error:[/red] ", end="", highlight=False)
    err.print(message, highlight=False, markup=False)


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
                                                          "and print a token per role."),
          jobs: bool | None = typer.Option(None, "--jobs/--no-jobs",
                                    help="Run jobs (consensus refits) in the server's own processes. On by default "
                                         "with SQLite or one worker; with PostgreSQL and several workers, run "
                                         "`expertloop worker` instead (or pass --jobs).")) -> None:
    """Run the API (and web app) at http://HOST:PORT; OpenAPI docs at /docs."""
    import os

    import uvicorn

    with _errors(), _session(migrate=True) as session:
        if demo:
            _seed_demo(session, f"http://{host}:{port}")
        sqlite = session.get_bind().dialect.name == "sqlite"
    in_process = jobs if jobs is not None else (sqlite or workers == 1)
    # Settings travel to the worker processes through the environment (uvicorn --factory).
    os.environ["EXPERTLOOP_JOBS_IN_PROCESS"] = "true" if in_process else "false"
    os.environ["EXPERTLOOP_DEMO"] = "true" if demo else "false"
    uvicorn.run("expertloop.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info")


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="Run the jobs that are due, then exit."),
           poll: float = typer.Option(1.0, min=0.05, help="Seconds to wait when no job is due.")) -> None:
    """Run jobs (consensus refits) from the database's queue; start as many as you like, anywhere."""
    from ..jobs import JobRunner
    from ..storage.db import make_engine, make_sessionmaker
    from ..storage.migrate import current_revision

    settings = _settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        with _errors():
            if current_revision(engine) is None:
                raise ValidationFailed(f"the database at {engine.url.render_as_string()} has no expertloop schema; "
                                       "run `expertloop init` first")
        runner = JobRunner(make_sessionmaker(engine), poll_seconds=poll)
        if once:
            err.print(f"ran {runner.run_until_idle()} jobs")
            return
        err.print(f"worker {runner.worker_id} waiting for jobs (Ctrl-C to stop)")
        try:
            runner.run_forever()
        except KeyboardInterrupt:
            err.print("stopped")
    finally:
        engine.dispose()


def _seed_demo(session, base: str) -> None:
    from ..demo import demo_tokens, is_empty, is_seeded, seed, seed_demo

    if is_empty(session):
        settings = _settings()
        with err.status("seeding the demo programme (TruthfulQA)…"):
            seed_demo(session, model_url=settings.demo_model_url, model=settings.demo_model)
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
    """Register experts from a file; all-or-nothing, idempotent by email (registered ones are
    skipped). Every row needs hourly_rate_usd (0 for unpaid work)."""
    from ..services.experts import import_experts
    from ..services.files import read_records

    with _errors(), _session() as session:
        records = read_records(file)
        rows = import_experts(session, OPERATOR, records, roster=True)
    for row in rows:
        out.print(f"{row['id']}\t{row['email']}", highlight=False)
    err.print(f"imported {len(rows)} experts ({len(records) - len(rows)} already registered)")


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
def project_create(file: Path = typer.Argument(..., help="YAML or JSON project definition."),
                   draft: bool = typer.Option(False, "--draft", help="Create it as a draft: it leases "
                                              "nothing until `expertloop project status ID live`.")) -> None:
    """Create a project (live, or a draft with --draft); prints its id."""
    from ..services.files import read_document
    from ..services.projects import create_project

    with _errors(), _session() as session:
        data = read_document(file)
        if draft and isinstance(data, dict):
            data = {**data, "status": "draft"}
        project = create_project(session, OPERATOR, data)
    out.print(project["id"])


@items_app.command("import")
def items_import(project: int = typer.Argument(..., help="Project id."),
                 file: Path = typer.Argument(..., help="JSONL, JSON, CSV or Parquet of items.")) -> None:
    """Import items; all-or-nothing, idempotent by external_id, streamed with a progress bar."""
    from ..services.files import RecordFile
    from ..services.imports import import_items

    with _errors(), _session() as session:
        records = RecordFile(file)
        total = records.total
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=err, transient=True,
                      disable=(total or 0) < 2000 or not err.is_terminal) as bar:
            task = bar.add_task(f"importing {file.name}", total=total, rate="")

            def progress(_phase: str, n: int) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                bar.update(task, completed=n, rate=f"{n / elapsed:,.0f} items/s" if elapsed > 0.5 else "")

            result = import_items(session, OPERATOR, project, records, progress=progress,
                                  max_item_bytes=_settings().max_item_bytes, unit=records.unit)
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


@token_app.command("list")
def token_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """List tokens, newest first: id, role, expert, label, created, revoked (never the secret)."""
    from ..services.tokens import list_tokens

    with _errors(), _session() as session:
        rows = list_tokens(session)
    _listing(rows, as_json, lambda r: f"{r['id']}\t{r['role']}\t{r['expert_id'] or '-'}\t{r['label'] or '-'}\t"
             f"{r['created_at']}\t{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'active'}",
             empty="no tokens")


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., min=1, max=MAX_ID, help="Token id (see `token list`).")) -> None:
    """Revoke a token: refused from its next request on, browser sessions signed in with it too."""
    from ..services.tokens import revoke_token

    with _errors(), _session() as session:
        row = revoke_token(session, token_id)
    err.print(f"token {row['id']} ({row['role']}{', expert ' + str(row['expert_id']) if row['expert_id'] else ''}) "
              f"revoked at {row['revoked_at']}", highlight=False, markup=False)


@app.command()
def audit(project: int | None = typer.Option(None, min=1, max=MAX_ID, help="Only entries about this project."),
          action: str | None = typer.Option(None, help="A whole action (terms.published) or a prefix ending in "
                                                       "a dot (project.)."),
          limit: int = typer.Option(100, min=1, max=500, help="At most this many entries, newest first."),
          as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Read the audit log of staff actions, newest first (it cannot be edited)."""
    import json

    from ..services.audit import list_entries

    with _errors(), _session() as session:
        rows = list_entries(session, None, project_id=project, action=action, limit=limit)

    def line(r: dict) -> str:
        who = r["actor_role"] + (f" (expert {r['actor_expert_id']})" if r["actor_expert_id"] else "")
        return (f"{r['id']}\t{r['at']}\t{who}\t{r['action']}\t"
                f"{'project ' + str(r['project_id']) if r['project_id'] else '-'}\t{r['target'] or '-'}\t"
                f"{json.dumps(r['detail'], ensure_ascii=False) if r['detail'] else ''}")
    _listing(rows, as_json, line, empty="no audit entries match")


@app.command()
def export(project: int = typer.Argument(..., help="Project id."),
           format: ExportFormat = typer.Option(..., "--format", "-f", help="Record layout."),
           output: Path | None = typer.Option(None, "-o", "--output",
                                                 help="FILE.jsonl or FILE.parquet (default: JSONL to stdout); "
                                                      "with --manifest, the folder to write."),
           consensus: bool = typer.Option(False, "--consensus",
                                          help="One record per item, built from the consensus (label, "
                                               "factcheck, preference, ranking, stepwise, trajectory)."),
           min_judgments: int | None = typer.Option(None, "--min-judgments", min=1,
                                                    help="Leave out items with fewer counted judgments."),
           min_confidence: float | None = typer.Option(None, "--min-confidence", min=0.0, max=1.0,
                                                       help="Leave out items whose consensus posterior is "
                                                            "lower (categorical task types)."),
           judge_settled: bool = typer.Option(False, "--judge-settled",
                                              help="Include the items a judge_first judge settled alone (no "
                                                   "expert saw them), marked metadata.decided_by = \"judge\"; "
                                                   "left out by default."),
           manifest: bool = typer.Option(False, "--manifest",
                                         help="Write -o DIR: the data file and a signed manifest.json "
                                              "(see `expertloop verify`)."),
           file_format: str = typer.Option("jsonl", "--file-format",
                                           help="With --manifest: jsonl or parquet."),
           hub_dir: Path | None = typer.Option(None, "--hub-dir", file_okay=False,
                                               help="Write a Hugging Face Hub folder: data/train and "
                                                    "data/test Parquet, README.md card, signed manifest."),
           test_share: float = typer.Option(0.1, "--test-share", min=0.0, max=0.99,
                                            help="With --hub-dir: the share of items in the test split."),
           seed: int = typer.Option(0, "--seed", min=0, help="With --hub-dir: the split's seed."),
           license: str = typer.Option("other", "--license", help="With --hub-dir: the card's licence id."),
           include_audit: bool = typer.Option(False, "--include-audit",
                                              help="With --manifest or --hub-dir: add the project's audit log "
                                                   "(audit.jsonl).")) -> None:
    """Export collected judgments in TRL's layouts, with provenance metadata, item by item.

    Streamed at flat memory: JSONL line by line, Parquet one row group at a time.

    A summary line on stderr says how many records were written and what was left out and why.
    With --manifest or --hub-dir the export is a folder with a signed manifest.json."""
    from ..services.exports import iter_jsonl, iter_records, write_file

    if manifest or hub_dir is not None or include_audit:
        from .integrity import signed_export

        if judge_settled:
            _fail("--judge-settled applies to plain exports: a signed export holds expert judgments only")
            raise typer.Exit(2)

        signed_export(project, format, output=output, hub_dir=hub_dir, file_format=file_format,
                      consensus=consensus, min_judgments=min_judgments, min_confidence=min_confidence,
                      test_share=test_share, seed=seed, license=license, include_audit=include_audit)
        return
    with _errors(), _session() as session:
        records = iter_records(session, OPERATOR, project, format, consensus=consensus,
                               min_judgments=min_judgments, min_confidence=min_confidence,
                               judge_settled=judge_settled)
        if output is None:
            for chunk in iter_jsonl(records):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            err.print(f"wrote {records.written} records; {records.summary_line()}", highlight=False, soft_wrap=True)
            return
        with Progress(TextColumn("exporting"), TextColumn("{task.completed:,} records"), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("export", total=None)
            n = write_file(records, output, progress=lambda done: bar.update(task, completed=done), every=10_000)
    err.print(f"wrote {n} records to {output}; {records.summary_line()}", highlight=False, soft_wrap=True)


@app.command()
def quality(project: int = typer.Argument(..., help="Project id."),
            as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
            n_boot: int = typer.Option(200, help="Bootstrap resamples for the agreement interval."),
            refresh: bool = typer.Option(False, "--refresh", help="Compute it now as the project's stored snapshot "
                                         "(what the console and the API show), instead of only printing it.")) -> None:
    """Agreement, consensus, trainer scorecards, bias flags and group disagreement (computed now)."""
    from rich.table import Table

    from ..services.quality import project_quality
    from ..services.reports import PAGE_PARTS, refresh_snapshot, stored_report, with_model_sections

    with _errors(), _session() as session:
        if refresh:
            refresh_snapshot(session, project, force=True)
            report = {k: v for k, v in (stored_report(session, OPERATOR, project) or {}).items()
                      if k not in PAGE_PARTS}
            if not report:
                raise typer.BadParameter("the project has no judgments to report on yet", param_hint="PROJECT")
        else:
            report = with_model_sections(session, project,
                                         project_quality(session, OPERATOR, project, n_boot=n_boot))
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
    table = Table("expert", "judgments", "gold acc [95%]", "agrees", "reliability", "retest [95%]", "median s",
                  "flags")
    for c in report["trainers"]:
        gold, retest = c["gold"], c.get("retest")
        gold_text = f"{gold['accuracy']:.2f} [{gold['low']:.2f}, {gold['high']:.2f}]" if gold else "—"
        retest_text = f"{retest['agreement']:.2f} [{retest['low']:.2f}, {retest['high']:.2f}]" if retest else "—"
        table.add_row(f"{c['expert_id']} {c['name']}", str(c["judgments"]), gold_text,
                      "—" if c["agreement_with_consensus"] is None else f"{c['agreement_with_consensus']:.2f}",
                      "—" if c["reliability"] is None else f"{c['reliability']:.2f}", retest_text,
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
def exam_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """List exams: id, domain and level, questions, pass mark, name."""
    from ..services.exams import list_exams

    with _errors(), _session() as session:
        rows = list_exams(session, OPERATOR)
    _listing(rows, as_json, lambda e: f"{e['id']}\t{e['domain']} level {e['level']}\t{e['questions']} questions\t"
             f"pass {e['pass_mark']:.0%}\t{e['name']}", empty="no exams")


@experts_app.command("status")
def experts_status(
    expert: int = typer.Argument(..., help="Expert id."),
    status: str = typer.Argument(..., help="applicant, qualified, active, paused or offboarded."),
) -> None:
    """Move an expert along onboarding (applicant → qualified → active), or pause/offboard."""
    from ..services.oversight import set_status

    with _errors(), _session() as session:
        row = set_status(session, OPERATOR, expert, status)
    out.print(f"expert {row['id']} is {row['status']}", highlight=False)


@app.command()
def pauses(project: int = typer.Argument(..., help="Project id."),
           lift: int | None = typer.Option(None, help="Lift the pause of this expert id."),
           as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Trainers paused from a project by its quality floor (and lift one)."""
    from ..services.oversight import lift_pause, list_pauses

    with _errors(), _session() as session:
        if lift is not None:
            lift_pause(session, OPERATOR, project, lift)
        rows = list_pauses(session, OPERATOR, project)
    _listing(rows, as_json, lambda r: f"{r['expert_id']}\t{r['expert_name']}\t"
             f"{'lifted ' + r['lifted_at'] if r['lifted_at'] else 'paused'}\t{r['reason']}",
             empty=f"no trainer has been paused from project {project}")


@app.command()
def notifications(project: int | None = typer.Option(None, help="Only this project."),
                  limit: int = typer.Option(50, min=1, max=1000, help="How many, newest first."),
                  as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Paused trainers and escalated items, newest first."""
    from ..services.oversight import notifications as list_notifications

    with _errors(), _session() as session:
        rows = list_notifications(session, OPERATOR, project, limit)
    _listing(rows, as_json, lambda n: f"{n['created_at']}\t{n['kind']}\t{n['message']}", empty="no notifications")


@app.command()
def consents(project: int = typer.Argument(..., help="Project id."),
             withdraw: int | None = typer.Option(None, help="Record the withdrawal of this expert id's consent "
                                                                 "(on their request); their work leaves every export."),
             reason: str | None = typer.Option(None, help="Why, with --withdraw (kept in the register)."),
             terms: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                                  help="Publish this markdown file as the project's new terms; "
                                                       "every trainer must agree again before new work."),
             as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
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
        has_terms = bool(consent.load_project(session, project).terms_version)

    def line(r: dict) -> str:
        state = f"withdrawn {r['withdrawn_at']} ({r['withdrawal_reason'] or 'no reason given'})" \
            if r["withdrawn_at"] else "in force"
        agreed = ("no terms agreed" if r["recorded_without_terms"]
                  else f"terms v{r['terms_version']}\tagreed {r['agreed_at']}")
        return f"{r['expert_id']}\t{r['expert_name']}\t{agreed}\t{state}"
    _listing(rows, as_json, line, empty=f"no consents on record for project {project}" + (
        "" if has_terms else " (it has no terms: publish them with --terms FILE)"))


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

from .experiments import experiment_app  # noqa: E402  (a sub-app in its own module)

app.add_typer(experiment_app, name="experiment")


def _register_topics() -> None:
    from .judgments import judgments_app

    app.add_typer(judgments_app, name="judgments")


_register_topics()

from . import models as _models  # noqa: E402  (its commands import this module's helpers when run)

_models.register(app)

from .integrity import register as _register_integrity  # noqa: E402  (uses the helpers above)

_register_integrity(app)

from .lifecycle import register as _register_lifecycle  # noqa: E402

_register_lifecycle(project_app, items_app)  # project status|guidelines|set, items retire


def main() -> None:  # pragma: no cover - console entry
    app()


from . import disputes as _disputes  # noqa: E402  (sub-apps import this module's helpers)
from . import pay as _pay  # noqa: E402

app.add_typer(_pay.app, name="pay")
app.add_typer(_disputes.app, name="disputes")
from . import forecast as _forecast  # noqa: E402

_forecast.register(app)


if __name__ == "__main__":  # pragma: no cover - after every sub-command is registered
    main()
