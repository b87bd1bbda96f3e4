"""Small helpers shared by the browser tests (they talk to the live server's API as staff)."""

from __future__ import annotations

import re
import time
from urllib.parse import quote_plus


def demo_projects(site) -> dict[str, int]:
    """The demo programme's project id per task type (the first of a type, when it has several)."""
    projects = site.api("GET", "/api/v1/projects", "admin").json()
    out: dict[str, int] = {}
    for p in sorted(projects, key=lambda p: p["id"]):
        if p["name"].startswith("[demo]"):
            out.setdefault(p["task_type"], p["id"])
    return out


def stored(site, assignment_id: int) -> dict:
    r = site.api("GET", f"/api/v1/assignments/{assignment_id}", "admin")
    assert r.status_code == 200, r.text
    return r.json()


def submit_via_api(site, project_id: int, response: dict, token: str = "trainer", wait: float = 0.0) -> int:
    """Lease and submit one task through the API; returns the assignment id."""
    lease = site.api("POST", f"/api/v1/projects/{project_id}/assignments/next", token)
    assert lease.status_code == 200, lease.text
    aid = lease.json()["assignment_id"]
    if wait:
        time.sleep(wait)  # some active time, so the task earns something
    r = site.api("POST", f"/api/v1/assignments/{aid}/submit", token, json={"response": response})
    assert r.status_code == 200, r.text
    return aid


class PageClient:
    """A TestClient signed in through the token form (no browser), with its session's CSRF token.
    Posts are urlencoded by hand so that lone surrogates can be sent, as a buggy script could."""

    def __init__(self, client, tok: str, home: str):
        self.client, self.tok, self.home = client, tok, home
        self.sign_in()

    def sign_in(self) -> None:
        self.client.cookies.clear()
        page = self.client.get("/signin?tab=token")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = self.client.post("/signin/token", data={"token": self.tok, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text
        page = self.client.get(self.home)
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)

    def get(self, url: str, **kw):
        return self.client.get(url, follow_redirects=False, headers={"Accept": "text/html"}, **kw)

    def post(self, url: str, fields: dict[str, str]):
        body = "&".join(f"{quote_plus(k)}={quote_plus(v.encode('utf-8', 'surrogatepass'))}"
                        for k, v in {"csrf_token": self.csrf, **fields}.items()).encode()
        r = self.client.post(url, content=body, follow_redirects=False,
                             headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
        if url == "/signout" or url.startswith("/signin"):
            self.sign_in()  # signing in or out starts a new session
        return r


# Payloads that must stay inert wherever text from items, projects or people is shown.
XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "[click me](javascript:window.__xss=1)",
    "[upper](JAVASCRIPT:window.__xss=1)",
    "[entity](&#106;avascript:window.__xss=1)",
    "[vb](vbscript:msgbox(1))",
    "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "<svg onload=window.__xss=1></svg>",
    '"><script>window.__xss=1</script>',
    "'><img src=x onerror=window.__xss=1>",
    "</textarea><script>window.__xss=1</script>",
    '<iframe src="javascript:window.__xss=1"></iframe>',
    "<details open ontoggle=window.__xss=1>",
    '![pic](x" onerror="window.__xss=1)',
    '<a href="javascript:window.__xss=1">raw link</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<body onload=window.__xss=1>",
    "<style>body{display:none}</style>",
    "javascript:window.__xss=1",
    "{{ 12345*6789 }} {% raw %} ${12345*6789}",
]


def wait_for_jobs(site, project_id: int, timeout: float = 30.0) -> None:
    """Wait until the server's background jobs for a project (consensus refits) have run: pages
    read the report the refit job stores, so a page checked right after a judgment or a review
    waits for the job as a manager would wait for "computed" to move."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = site.api("GET", "/api/v1/jobs", "admin", params={"project_id": project_id}).json()
        if all(j["state"] in ("done", "failed") for j in jobs):
            return
        time.sleep(0.2)
    raise AssertionError(f"jobs of project {project_id} still pending after {timeout}s")


def wait_until(page, script: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression from here until it is true. Playwright's ``wait_for_function``
    compiles its predicate with ``new Function`` inside the page, which the app's Content Security
    Policy (no ``unsafe-eval``) refuses whenever the first check is false; ``evaluate`` is not
    subject to it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {script}")
        page.wait_for_timeout(50)
