"""Browser tests: a live ``expertloop serve --demo`` on a free port with its own SQLite file,
driven by Playwright in Debian's headless Chromium. Started once per test session.

Set ``EXPERTLOOP_SCREENSHOTS=docs/screenshots`` to save a screenshot of every page visited
under a name (that is how the pictures in docs/web.md are made).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("EXPERTLOOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN_LINE = re.compile(r"^\s*(admin|manager|reviewer|trainer)\s+token:\s+(el_\S+)", re.M)
SCREENSHOTS = os.environ.get("EXPERTLOOP_SCREENSHOTS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Site:
    base: str
    tokens: dict[str, str]
    output: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, role_or_token: str, **kwargs) -> httpx.Response:
        token = self.tokens.get(role_or_token, role_or_token)
        return httpx.request(method, self.base + path, headers={"Authorization": f"Bearer {token}"},
                             timeout=30, **kwargs)

    def expert_id(self, email: str) -> int:
        experts = self.api("GET", "/api/v1/experts", "admin").json()
        return next(e["id"] for e in experts if e["email"] == email)

    def token_for(self, email: str, role: str = "trainer") -> str:
        r = self.api("POST", "/api/v1/tokens", "admin", json={"role": role, "expert_id": self.expert_id(email)})
        assert r.status_code == 201, r.text
        return r.json()["token"]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = {**os.environ, "EXPERTLOOP_DATABASE_URL": f"sqlite:///{tmp / 'web.db'}", "COLUMNS": "240",
           "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "expertloop.cli.main", "serve", "--demo", "--port", str(port)],
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    site = Site(base=f"http://127.0.0.1:{port}", tokens={})
    threading.Thread(target=lambda: [site.output.append(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            site.tokens = dict(TOKEN_LINE.findall("".join(site.output)))
            if len(site.tokens) == 4:
                try:
                    if httpx.get(site.base + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            if proc.poll() is not None:
                pytest.fail("expertloop serve --demo exited:\n" + "".join(site.output))
            time.sleep(0.2)
        else:
            pytest.fail("expertloop serve --demo did not start in 90 s:\n" + "".join(site.output))
        yield site
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(live_site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visitor:
    """One signed-in browser context, with every dialog and script error it saw."""

    def __init__(self, browser, site: Site, viewport: dict | None = None):
        self.site = site
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800},
                                           base_url=site.base)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     and "Failed to load resource" not in m.text else None)

    def sign_in_token(self, token: str) -> Visitor:
        self.page.goto("/signin?tab=token")
        self.page.fill("input[name=token]", token)
        with self.page.expect_navigation():
            self.page.click("form[action='/signin/token'] button[type=submit]")
        return self

    def sign_in_password(self, email: str, password: str) -> Visitor:
        self.page.goto("/signin")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("form[action='/signin/password'] button[type=submit]")
        return self

    def csrf(self) -> str:
        return self.page.get_attribute('meta[name="csrf-token"]', "content")

    def shot(self, name: str, *, full_page: bool = True) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.wait_for_timeout(150)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def visit(browser, live_site):
    opened: list[Visitor] = []

    def make(role: str | None = None, *, token: str | None = None, viewport: dict | None = None) -> Visitor:
        v = Visitor(browser, live_site, viewport)
        opened.append(v)
        if role or token:
            v.sign_in_token(token or live_site.tokens[role])
        return v

    yield make
    for v in opened:
        v.close()
