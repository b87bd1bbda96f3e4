"""The README's examples run exactly as written: the curl session against the demo (only the
token placeholder and the port are filled in), and its example files through the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.serving import served

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def block(tag: str) -> str:
    match = re.search(rf"<!-- {tag} -->\s*(?:[^\n]*\n)*?```\w*\n(.+?)\n```", README, re.S)
    assert match, f"README has no {tag} block"
    return match.group(1)


def test_the_readme_curl_session_leases_and_submits_as_written(tmp_path):
    script = block("command:curl")
    assert "T=el_…" in script and "http://127.0.0.1:8000" in script
    with served(None, "--demo", cwd=tmp_path) as (base, _proc, log):
        token = dict(re.findall(r"(trainer)\s+token: (el_\S+)", log.read_text()))["trainer"]
        run = script.replace("T=el_…", f"T={token}").replace("http://127.0.0.1:8000", base)
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", run], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        lease = json.loads((tmp_path / "lease.json").read_text())
        assert lease["task_type"] == "preference"
        decoder, out, pos, answers = json.JSONDecoder(), done.stdout, 0, []
        while pos < len(out):                       # curl prints the lease, then the submit's answer
            value, pos = decoder.raw_decode(out, pos)
            answers.append(value)
            while pos < len(out) and out[pos].isspace():
                pos += 1
        submitted = answers[-1]
        assert submitted["assignment_id"] == lease["assignment_id"] and submitted["state"] == "submitted", done.stdout


def test_the_readme_example_files_import_through_the_cli(tmp_path):
    (tmp_path / "experts.csv").write_text(block("file:experts.csv") + "\n")
    (tmp_path / "project.yaml").write_text(block("file:project.yaml") + "\n")
    env_cmd = [sys.executable, "-m", "expertloop.cli.main"]
    env = {"EXPERTLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "PATH": "/usr/bin:/bin"}
    for args in (["init"], ["experts", "import", "experts.csv"], ["project", "create", "project.yaml"],
                 ["project", "create", "--draft", "project.yaml"], ["project", "status", "2", "live"]):
        done = subprocess.run([*env_cmd, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "draft → live" in done.stdout
