"""The CLI through Typer's ``CliRunner``, against a fresh database per test: ``cli("init")`` runs
``expertloop init`` with ``EXPERTLOOP_DATABASE_URL`` set to it; ``cli.url`` is that URL."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from expertloop.cli.main import app

runner = CliRunner()


@pytest.fixture()
def cli(fresh_url):
    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"EXPERTLOOP_DATABASE_URL": fresh_url})
    invoke.url = fresh_url
    return invoke
