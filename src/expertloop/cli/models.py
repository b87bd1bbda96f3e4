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
def models_list() -> None:
    """Endpoints, one per line: name, model, URL, key variable (and whether it is set here), limits,
    calls made."""
    from ..services.models import list_endpoints
    from .main import _errors, _session, out

    with _errors(), _session() as session:
        rows = list_endpoints(session)
    for r in rows:
        key = "-" if not r["api_key_env"] else f"{r['api_key_env']} ({'set' if r['api_key_set'] else 'NOT set'})"
        out.print(f"{r['name']}\t{r['model']}\t{r['base_url']}\tkey: {key}\tconcurrency {r['max_concurrency']}\t"
                  f"timeout {r['timeout_s']:g} s\t{r['calls']} calls", highlight=False, markup=False)


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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="models")
