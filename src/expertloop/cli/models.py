"""``expertloop models …``: register, list and test OpenAI-compatible model endpoints."""

from __future__ import annotations

import typer

app = typer.Typer(help="Register, list and test model endpoints (any OpenAI-compatible server).",
                  no_args_is_help=True)


@app.command("add")
def models_add(name: str = typer.Argument(..., help="A short name to refer to the endpoint by."),
               base_url: str = typer.Option(..., "--base-url", help="Server URL up to /v1, e.g. "
                                                                    "http://localhost:11434/v1 (Ollama)."),
               model: str = typer.Option(..., "--model", help="The model name the server knows."),
               api_key_env: str | None = typer.Option(None, "--api-key-env",
                                                      help="NAME of the environment variable holding the API key "
                                                           "(read at call time, never stored)."),
               max_concurrency: int = typer.Option(4, "--max-concurrency", help="Requests in flight at once "
                                                                                "per worker process (1–256)."),
               timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for one answer.")) -> None:
    """Register an OpenAI-compatible chat-completions endpoint."""
    from ..services.models import add_endpoint
    from .main import _errors, _session, out

    with _errors(), _session() as session:
        row = add_endpoint(session, None, name, base_url, model, api_key_env=api_key_env,
                           max_concurrency=max_concurrency, timeout_s=timeout)
    out.print(f"registered model endpoint {row['name']} ({row['model']} at {row['base_url']})", highlight=False)


@app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Endpoints, one per line: name, model, URL, key variable (and whether it is set here), limits,
    calls made."""
    from ..services.models import list_endpoints
    from .main import _errors, _listing, _session

    def line(r: dict) -> str:
        key = "-" if not r["api_key_env"] else f"{r['api_key_env']} ({'set' if r['api_key_set'] else 'NOT set'})"
        return (f"{r['name']}\t{r['model']}\t{r['base_url']}\tkey: {key}\tconcurrency {r['max_concurrency']}\t"
                f"timeout {r['timeout_s']:g} s\t{r['calls']} calls")

    with _errors(), _session() as session:
        rows = list_endpoints(session)
    _listing(rows, as_json, line, empty="no model endpoints; register one with `expertloop models add`")


@app.command("calls")
def models_calls(name: str | None = typer.Argument(None, help="Only this endpoint's calls."),
                 project: int | None = typer.Option(None, "--project", min=1, help="Only this project's calls."),
                 limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many."),
                 as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of columns.")) -> None:
    """Recent model calls, newest first: when, endpoint, purpose, project, tokens, latency, outcome."""
    from ..services.models import list_calls
    from .main import _errors, _listing, _session

    def line(c: dict) -> str:
        outcome = "ok" if c["status"] == "ok" else f"error: {c['error']}"
        return (f"{c['created_at']}\t{c['endpoint']}\t{c['purpose']}\tproject {c['project_id'] or '-'}\t"
                f"{c['tokens_in'] if c['tokens_in'] is not None else '?'}→"
                f"{c['tokens_out'] if c['tokens_out'] is not None else '?'} tokens\t{c['latency_ms']} ms\t"
                f"{c['attempts']} attempts\t{outcome}")

    with _errors(), _session() as session:
        rows = list_calls(session, name=name, project_id=project, limit=limit)
    _listing(rows, as_json, line, empty="no model calls")


@app.command("test")
def models_test(name: str = typer.Argument(..., help="Endpoint name.")) -> None:
    """Send one short prompt; print the model's reply and latency (exit 1 when it fails)."""
    from ..services.models import check_endpoint
    from .main import _errors, _fail, _session, out

    with _errors(), _session() as session:
        result = check_endpoint(session, None, name)
    if not result["ok"]:
        _fail(f"{name}: {result['error']}")
        raise typer.Exit(1)
    out.print(f"{name}: ok, {result['model']} answered in {result['latency_ms']} ms: {result['reply']!r}",
              highlight=False)


def _run_jobs(session, kind: str) -> None:
    """Run the queued jobs of one kind here, as a worker would (a worker elsewhere may share them)."""
    from ..jobs import JobRunner
    from ..jobs.handlers import HANDLERS
    from ..storage.db import make_sessionmaker

    JobRunner(make_sessionmaker(session.get_bind()), handlers={kind: HANDLERS[kind]}).run_until_idle()


def _job_outcome(session, job_id: int | None) -> dict | None:
    from ..services.jobs import get_job
    from .main import OPERATOR

    return None if job_id is None else get_job(session, OPERATOR, job_id)


def generate(project: int = typer.Argument(..., help="Project id."),
             wait: bool = typer.Option(True, "--wait/--no-wait",
                                       help="Run the job here and wait (default), or only queue it for a worker.")
             ) -> None:
    """Generate what models write for a project's items (a job): the missing candidate answers, or
    the claims of fact-check responses; items a model refused before are tried again."""
    from ..services.generation import generation_status, request_generation
    from ..services.jobs import GENERATE_CANDIDATES, SPLIT_CLAIMS
    from .main import _errors, _fail, _session, err, out

    with _errors(), _session() as session:
        queued = request_generation(session, None, project)
        if queued["job_id"] is None:
            out.print(f"project {project}: no item awaits candidate answers", highlight=False)
            return
        if not wait:
            out.print(f"queued job {queued['job_id']} for {queued['pending']} items", highlight=False)
            return
        with err.status(f"generating for {queued['pending']} items…"):
            _run_jobs(session, GENERATE_CANDIDATES)
            _run_jobs(session, SPLIT_CLAIMS)
        status = generation_status(session, project)
        job = _job_outcome(session, queued["job_id"])
    out.print(f"project {project}: {status['complete']} items complete, {status['pending']} pending, "
              f"{status['failed']} refused by a model", highlight=False)
    if job is not None and job["state"] != "done":
        _fail(f"job {job['id']} is {job['state']} after attempt {job['attempts']}: {job['error']} "
              "(a worker retries it; run this command again to resume)")
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="models")
    root.command("generate")(generate)
    root.command("judge")(judge)
    root.command("factscore")(factscore)


def judge(project: int = typer.Argument(..., help="Project id."),
          model: str = typer.Option(..., "--model", help="Model endpoint name."),
          wait: bool = typer.Option(True, "--wait/--no-wait",
                                    help="Run the job here and wait (default), or only queue it for a worker.")
          ) -> None:
    """Run a model as a judge over a project's items (a job; pairwise and ranking items in both
    orders, a fact-check with a verdict per claim); its answers are stored apart from the
    experts' and measured against them in the quality report."""
    from ..services.jobs import JUDGE_ITEMS
    from ..services.judging import judge_section, request_judging
    from .main import _errors, _fail, _session, err, out

    with _errors(), _session() as session:
        queued = request_judging(session, None, project, model)
        if not wait:
            out.print(f"queued job {queued['job_id']}", highlight=False)
            return
        with err.status(f"{model} is judging project {project}…"):
            _run_jobs(session, JUDGE_ITEMS)
        job = _job_outcome(session, queued["job_id"])
        section = next((s for s in judge_section(session, project) if s["model"] == model), None)
    if section is not None:
        agree = section["agreement_with_experts"]
        line = f"{model}: {section['items_judged']} items judged"
        if "swap_consistency" in section:
            line += f", swap-consistent {_pct(section['swap_consistency'])}"
        line += f", agrees with experts {_pct(agree)} (kappa {agree['kappa']})"
        out.print(line, highlight=False)
    if job is not None and job["state"] != "done":
        _fail(f"job {job['id']} is {job['state']} after attempt {job['attempts']}: {job['error']} "
              "(a worker retries it; run this command again to resume)")
        raise typer.Exit(1)


def _pct(rate: dict) -> str:
    if rate.get("rate") is None:
        return "n/a"
    lo, hi = rate["interval"]
    return f"{rate['rate']:.0%} [{lo:.0%}, {hi:.0%}] of {rate['n']}"


def factscore(project: int = typer.Argument(..., help="Project id (a fact-check project)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Per model that wrote the responses: the share of claims judged supported (FActScore, with
    a 95% interval), refuted and not enough info, from the experts' consensus."""
    import json

    from ..services.factscore import factscore as compute
    from .main import _errors, _session, out

    with _errors(), _session() as session:
        result = compute(session, None, project)
    if as_json:
        out.print_json(json.dumps(result))
        return
    if not result["models"]:
        out.print(f"project {project}: no judged claims yet", highlight=False)
    for m in result["models"]:
        fs = m["factscore"]
        out.print(f"{m['model']}\tFActScore {fs['share']:.1%} [{fs['interval'][0]:.1%}, {fs['interval'][1]:.1%}]\t"
                  f"refuted {m['refuted']['share']:.1%}\tnot enough info {m['not_enough_info']['share']:.1%}\t"
                  f"{m['claims_judged']} claims in {m['responses']} responses", highlight=False, markup=False)
