"""Security of the pages in a real browser: an XSS corpus stays inert everywhere it is shown, a
trainer cannot open another trainer's work by URL, every POST needs the CSRF token, cookies are
HttpOnly and SameSite=Lax."""

from __future__ import annotations

import re

import pytest

from .helpers import XSS, demo_projects, stored, submit_via_api, wait_until

pytestmark = pytest.mark.browser

CORPUS = "\n\n".join(XSS)

INERT = """() => ({
    xss: window.__xss === undefined ? null : window.__xss,
    handlers: [...document.querySelectorAll('*')].filter(e =>
        [...e.attributes].some(a => a.name.startsWith('on'))).length,
    badLinks: [...document.querySelectorAll('a[href], iframe[src]')].filter(e =>
        /^\\s*(javascript|vbscript|data):/i.test(e.getAttribute('href') || e.getAttribute('src') || '')).length,
    // only the product's own scripts, served from /static/ (app.js; claims.js on a fact-check)
    scripts: [...document.scripts].filter(s => !(s.src && new URL(s.src).origin === location.origin
        && /^\\/static\\/[a-z]+\\.js$/.test(new URL(s.src).pathname))).length,
    bodyShown: getComputedStyle(document.body).display !== 'none',
})"""


def assert_inert(v) -> None:
    page = v.page
    # click every link the item's text produced (they open in a new tab, if anywhere)
    page.evaluate("() => document.querySelectorAll('.md a').forEach(a => a.click())")
    page.wait_for_timeout(100)
    state = page.evaluate(INERT)
    assert state == {"xss": None, "handlers": 0, "badLinks": 0, "scripts": 0, "bodyShown": True}, page.url
    assert "83810205" not in page.inner_text("main")   # no template evaluation (12345*6789)
    assert not v.dialogs, v.dialogs


def xss_projects(site) -> dict[str, int]:
    specs = {
        "label": {"options": {"labels": ["ok", "<img src=x onerror=window.__xss=1>"]},
                  "items": [{"external_id": "x1", "text": CORPUS, "source": XSS[1]}]},
        "sft": {"items": [{"external_id": "x1", "messages": [{"role": "system", "content": XSS[0]},
                                                             {"role": "user", "content": CORPUS}]}]},
        "preference": {"options": {"criteria": ["<b onmouseover=window.__xss=1>x</b>"]},
                       "items": [{"external_id": "x1", "prompt": CORPUS,
                                  "responses": [{"text": CORPUS}, {"text": XSS[2]}]}]},
        "ranking": {"items": [{"external_id": "x1", "prompt": XSS[8], "responses": [{"text": x} for x in XSS[:4]]}]},
        "factcheck": {"items": [{"external_id": "x1", "prompt": XSS[10], "response": CORPUS, "claims": XSS[:6]}]},
        "rubric": {"options": {"criteria": [{"name": "acc<script>window.__xss=1</script>", "scale": [1, 3],
                                             "description": XSS[1]}]},
                   "items": [{"external_id": "x1", "prompt": XSS[11], "response": CORPUS}]},
    }
    ids = {}
    for task_type, spec in specs.items():
        r = site.api("POST", "/api/v1/projects", "admin", json={
            "name": f'XSS {task_type} <script>window.__xss=1</script>"><img src=x onerror=window.__xss=1>',
            "task_type": task_type, "guidelines": "# Guidelines\n\n" + CORPUS, **{k: v for k, v in spec.items()
                                                                               if k == "options"}})
        assert r.status_code == 201, r.text
        ids[task_type] = r.json()["id"]
        r = site.api("POST", f"/api/v1/projects/{ids[task_type]}/items", "admin", json=spec["items"])
        assert r.status_code == 201, r.text
    return ids


def test_an_xss_corpus_stays_inert_on_every_page(visit, live_site):
    ids = xss_projects(live_site)
    trainer = visit("trainer")
    page = trainer.page
    page.goto("/work")
    assert_inert(trainer)
    leased = {}
    for task_type, pid in ids.items():
        page.goto("/work")
        with page.expect_navigation():
            page.click(f"form[action='/work/projects/{pid}/next'] button")
        leased[task_type] = int(re.search(r"/tasks/(\d+)", page.url).group(1))
        assert "<script>window.__xss=1</script>" in page.inner_text("main")  # shown as text, literally
        assert_inert(trainer)
        # let any autofocus land first, so Escape leaves it and "g" reaches the page
        wait_until(page, "!document.querySelector('[autofocus]') || "
                         "document.activeElement === document.querySelector('[autofocus]')")
        page.keyboard.press("Escape")
        page.keyboard.press("g")                  # the guidelines drawer renders the corpus too
        page.wait_for_selector("dialog#guidelines[open]", timeout=5000)
        assert_inert(trainer)
        page.keyboard.press("Escape")

    # the trainer's own markdown in the preview is sanitised by the same code
    page.goto(f"/tasks/{leased['sft']}")
    page.fill("textarea[name=completion]", CORPUS)
    page.dispatch_event("textarea[name=completion]", "input")
    wait_until(page, "() => document.querySelector('#answer-preview').textContent.includes('raw link')")
    assert_inert(trainer)
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    page.goto(f"/my-work/{leased['sft']}")
    assert_inert(trainer)

    # a label with markup is submitted, reviewed with hostile feedback, and shown back
    page.goto(f"/tasks/{leased['label']}")
    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert stored(live_site, leased["label"])["response"] == {"label": "<img src=x onerror=window.__xss=1>"}
    r = live_site.api("POST", f"/api/v1/assignments/{leased['label']}/review", "admin",
                      json={"verdict": "reject", "feedback": CORPUS})
    assert r.status_code == 200, r.text
    for url in ("/my-work", f"/my-work/{leased['label']}"):
        page.goto(url)
        assert_inert(trainer)

    reviewer = visit("reviewer")
    reviewer.page.goto(f"/review/{leased['sft']}")
    assert_inert(reviewer)
    reviewer.page.goto(f"/review/{leased['sft']}?edit=1")   # the answer sits in a textarea here
    assert reviewer.page.input_value("textarea[name=completion]") == CORPUS
    assert_inert(reviewer)

    manager = visit("manager")
    for url in ["/manage", *(f"/manage/projects/{pid}" for pid in ids.values()),
                *(f"/manage/projects/{pid}/quality" for pid in ids.values()), "/review", "/manage/notifications"]:
        manager.page.goto(url)
        assert_inert(manager)
    assert not trainer.errors and not reviewer.errors and not manager.errors


def test_a_trainer_cannot_open_another_trainers_work_by_url(visit, live_site):
    ids = demo_projects(live_site)
    kenji = live_site.token_for("kenji@demo.expertloop.dev")
    other = submit_via_api(live_site, ids["label"], {"label": "true"}, token=kenji)
    lease = live_site.api("POST", f"/api/v1/projects/{ids['rubric']}/assignments/next", kenji).json()

    tom = visit("trainer")
    page = tom.page
    for url in (f"/tasks/{lease['assignment_id']}", f"/my-work/{other}", f"/my-work/{lease['assignment_id']}"):
        response = page.goto(url)
        assert response.status == 404, url
        assert "Not found" in page.inner_text("h1")
    response = page.goto(f"/review/{other}")
    assert response.status == 403                     # trainers have no review pages at all
    csrf = tom.csrf()
    for action in ("submit", "release", "heartbeat"):
        r = page.request.post(f"/tasks/{lease['assignment_id']}/{action}", form={"csrf_token": csrf, "label": "x"},
                              max_redirects=0)
        assert r.status == 404, (action, r.status)
    assert stored(live_site, lease["assignment_id"])["state"] == "leased"   # untouched
    # gold never reaches a trainer's page
    page.goto("/work")
    with page.expect_navigation():
        page.click(f"form[action='/work/projects/{ids['label']}/next'] button")
    assert '"gold"' not in page.content() and "gold:" not in page.content()


def test_posts_need_the_csrf_token_and_cookies_are_locked_down(visit, live_site):
    ids = demo_projects(live_site)
    tom = visit("trainer")
    page = tom.page
    page.goto("/work")
    cookie = next(c for c in tom.context.cookies() if c["name"] == "el_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    url = f"/work/projects/{ids['label']}/next"
    r = page.request.post(url, form={}, max_redirects=0)
    assert r.status == 403 and "CSRF" in r.text()
    r = page.request.post(url, form={"csrf_token": "forged"}, max_redirects=0)
    assert r.status == 403
    r = page.request.post(url, form={"csrf_token": tom.csrf()}, headers={"Origin": "http://evil.example"},
                          max_redirects=0)
    assert r.status == 403
    r = page.request.post("/signout", form={}, max_redirects=0)     # even signing out
    assert r.status == 403
    r = page.request.post(url, form={"csrf_token": tom.csrf()}, max_redirects=0)
    assert r.status == 303 and r.headers["location"].startswith("/tasks/")

    # a forged session cookie is ignored
    anon = visit()
    anon.context.add_cookies([{**cookie, "value": cookie["value"][:-4] + "AAAA"}])
    response = anon.page.goto("/work")
    assert anon.page.url.endswith("/signin?next=%2Fwork") and response.status == 200

    # wrong credentials say so, without telling which part was wrong
    anon.page.goto("/signin")
    anon.shot("signin")
    anon.page.fill("input[name=email]", "tom@demo.expertloop.dev")
    anon.page.fill("input[name=password]", "not the password")
    anon.page.click("form[action='/signin/password'] button")
    anon.page.wait_for_selector(".flash-error")
    assert "wrong email or password" in anon.page.inner_text(".flash-error")

    # sign out ends the session
    with page.expect_navigation():
        page.click("form[action='/signout'] button")
    assert page.url.endswith("/signin")
    assert page.goto("/my-work") and page.url.startswith(f"{live_site.base}/signin")


def test_every_page_renders_on_the_demo_data(visit, live_site):
    """Each page answers 200 for its role (load times: ``python bench/pages.py``)."""
    ids = demo_projects(live_site)
    tom = visit("trainer")
    lease = tom.page.request.post(f"/work/projects/{ids['preference']}/next", form={"csrf_token": tom.csrf()},
                                  max_redirects=0)
    task_url = lease.headers["location"]
    manager = visit("manager")
    for v, url in [(tom, "/work"), (tom, task_url), (tom, "/my-work"), (manager, "/manage"),
                   (manager, f"/manage/projects/{ids['preference']}"), (manager, "/review"),
                   (manager, f"/manage/projects/{ids['preference']}/quality"), (manager, "/manage/experts"),
                   (manager, "/manage/exams"), (tom, "/exams")]:
        r = v.page.request.get(url)
        assert r.status == 200, url
        assert "Traceback" not in r.text(), url
