"""CI runs the gates (lint, types, import contracts) before the tests, with tools the dev
extra installs, so a finding fails the run before any test starts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.test_readme import readme_command

ROOT = Path(__file__).resolve().parents[1]
GATES = [".venv/bin/ruff check src tests bench", ".venv/bin/mypy", ".venv/bin/lint-imports"]


def test_ci_runs_every_gate_in_order_before_the_test_command():
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith(("#", "echo"))]
    positions = [commands.index(gate) for gate in GATES]
    assert positions == sorted(positions)
    assert commands[-1] == readme_command("test")  # the tests come last
    assert max(positions) < len(commands) - 1


def test_the_dev_extra_installs_the_gates_and_their_stubs():
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    names = {req.split(">")[0].split("<")[0].split("=")[0].strip().lower() for req in dev}
    assert {"ruff", "mypy", "import-linter", "types-pyyaml"} <= names
