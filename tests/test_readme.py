"""The README's two commands stay true: CI runs the test command verbatim, and the run
command's server really starts with the demo on the default SQLite file and prints tokens."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx

from tests.serving import served

ROOT = Path(__file__).resolve().parents[1]


def readme_command(tag: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- command:{tag} -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README has no command:{tag} block"
    return match.group(1).strip()


def readme_python(tag: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- python:{tag} -->\s*```python\n(.+?)\n```", text, re.S)
    assert match, f"README has no python:{tag} block"
    return match.group(1)


def test_ci_runs_the_readme_test_command_verbatim():
    command = readme_command("test")
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert command in ci_lines
    assert "set -euo pipefail" in ci_lines  # a failing test fails CI
    assert "EXPERTLOOP_TEST_DATABASE_URL" in (ROOT / ".ci/run").read_text()


def test_install_commands_match_the_package():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert 'pip install -q -e ".[dev]"' in readme_command("run")
    assert "dev" in pyproject["project"]["optional-dependencies"]
    assert pyproject["project"]["scripts"]["expertloop"] == "expertloop.cli.main:app"


def test_run_command_serves_the_demo_on_the_default_sqlite_file(tmp_path):
    command = readme_command("run")
    assert command.endswith("expertloop serve --demo")
    with served(None, "--demo", cwd=tmp_path) as (base, _proc, log):
        output = log.read_text()
        tokens = dict(re.findall(r"(admin|manager|reviewer|trainer)\s+token: (el_\S+)", output))
        assert set(tokens) == {"admin", "manager", "reviewer", "trainer"}
        assert (tmp_path / "expertloop.db").exists()
        assert httpx.get(base + "/docs").status_code == 200
        trainer = {"Authorization": f"Bearer {tokens['trainer']}"}
        projects = httpx.get(base + "/api/v1/projects", headers=trainer).json()
        assert {p["task_type"] for p in projects} == {"sft", "preference", "ranking", "factcheck", "rubric", "label",
                                                    "steps", "trajectory", "rubric_authoring"}
        lease = httpx.post(base + f"/api/v1/projects/{projects[0]['id']}/assignments/next", headers=trainer)
        assert lease.status_code == 200 and "gold" not in lease.text
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        demo = httpx.get(base + "/api/v1/projects", headers=admin).json()
        assert sum(p["progress"]["items"] for p in demo) > 300
        # The README's Python examples, exactly as written, against this server.
        for role in ("trainer", "manager"):
            env = {**os.environ, "EXPERTLOOP_URL": base, "EXPERTLOOP_TOKEN": tokens[role]}
            run = subprocess.run([sys.executable, "-c", readme_python(role)], env=env, capture_output=True,
                                 text=True, timeout=120)
            assert run.returncode == 0, f"README's python:{role} example failed:\n{run.stderr}"
            assert run.stdout.strip()
