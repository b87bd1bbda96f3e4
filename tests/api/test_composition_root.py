"""The composition root mounts the API and the pages side by side and hides no import error."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_broken_web_package_fails_app_creation_loudly():
    code = textwrap.dedent("""
        import importlib.abc, sys

        class Broken(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "expertloop.web.views":
                    raise ImportError("simulated bug in the web package")
                return None

        sys.meta_path.insert(0, Broken())
        try:
            from expertloop.app import create_app
        except ImportError as exc:
            print("failed:", exc)
            sys.exit(3)
        print("imported without the web app")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "simulated bug in the web package" in run.stdout


def test_the_api_and_the_pages_are_both_mounted(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/signin").status_code == 200
    assert "/api/v1/jobs/{job_id}" in client.get("/openapi.json").json()["paths"]


def test_the_sign_in_page_shows_demo_hints_only_when_configured(settings, session_factory):
    from fastapi.testclient import TestClient

    from expertloop.app import create_app

    demo = create_app(settings.model_copy(update={"demo": True}), session_factory=session_factory)
    assert demo.state.signin_hints and all("password" in h for h in demo.state.signin_hints)
    email = demo.state.signin_hints[0]["email"]
    assert email in TestClient(demo).get("/signin").text
    plain = create_app(settings, session_factory=session_factory)
    assert plain.state.signin_hints is None
    assert email not in TestClient(plain).get("/signin").text
